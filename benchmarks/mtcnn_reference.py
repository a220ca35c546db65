"""Reference MTCNN detections from the ``mtcnn`` 1.0.0 package's own TensorFlow cascade.

The independent side of ``benchmarks/mtcnn_agreement.py``. It runs in its own environment (TensorFlow
and our torch do not share one) and must not import noisetrace::

    python3 -m venv .venv-ref
    .venv-ref/bin/pip install tensorflow-cpu mtcnn==1.0.0 opencv-python-headless numpy
    .venv-ref/bin/python benchmarks/mtcnn_reference.py --images ../shared/data/images -o ref.json

Boxes are written unclipped (``fit_to_image=False``) and unrounded (``output_type="numpy"``), so they
compare with our detector's float boxes. The SHA-256 of every decoded image lets the agreement check
prove both sides saw the same pixels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of images (not recursive)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--min-face-size", type=int, default=20)
    parser.add_argument("--scale-factor", type=float, default=0.709)
    parser.add_argument("--thresholds", type=float, nargs=3, default=[0.6, 0.7, 0.8], metavar=("PNET", "RNET", "ONET"))
    parser.add_argument(
        "--nms-thresholds",
        type=float,
        nargs=4,
        default=[0.5, 0.7, 0.7, 0.7],
        metavar=("PNET_SCALE", "PNET_ALL", "RNET", "ONET_MIN"),
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import cv2
    import numpy as np
    import tensorflow as tf
    from mtcnn import MTCNN

    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        print(f"no images in {args.images}", file=sys.stderr)
        return 1
    settings = {
        "min_face_size": args.min_face_size,
        "scale_factor": args.scale_factor,
        "thresholds": args.thresholds,
        "nms_thresholds": args.nms_thresholds,
    }
    pnet, rnet, onet = args.thresholds
    nms_scale, nms_all, nms_rnet, nms_onet = args.nms_thresholds
    detector = MTCNN(device="CPU:0")
    images = {}
    start = time.perf_counter()
    for path in paths:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"skipped (unreadable): {path.name}", file=sys.stderr)
            continue
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        rows = detector.detect_faces(
            rgb,
            output_type="numpy",
            box_format="xyxy",
            fit_to_image=False,
            min_face_size=args.min_face_size,
            scale_factor=args.scale_factor,
            threshold_pnet=pnet,
            threshold_rnet=rnet,
            threshold_onet=onet,
            nms_pnet1=nms_scale,
            nms_pnet2=nms_all,
            nms_rnet=nms_rnet,
            nms_onet=nms_onet,
        )
        # Columns: image id, x1, y1, x2, y2, score, five landmark x, five landmark y.
        faces = [
            {
                "box": [float(v) for v in row[1:5]],
                "score": float(row[5]),
                "landmarks": [[float(row[6 + k]), float(row[11 + k])] for k in range(5)],
            }
            for row in np.asarray(rows).reshape(-1, 16)
        ]
        images[path.name] = {
            "height": rgb.shape[0],
            "width": rgb.shape[1],
            "pixels_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
            "faces": faces,
        }
        print(f"{path.name}: {len(faces)} face(s)", file=sys.stderr)
    result = {
        "reference": f"mtcnn 1.0.0 (TensorFlow {tf.__version__}, OpenCV {cv2.__version__})",
        "settings": settings,
        "seconds": time.perf_counter() - start,
        "images": images,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    tmp.replace(args.output)
    print(f"wrote {args.output} ({len(images)} images)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
