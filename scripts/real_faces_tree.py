"""Lay out ``../shared/data``'s real media as one ``folder`` dataset for the ``wild`` recipe.

The shipped detector trains on real faces alone (self-blended and simulated fakes are made from
them while it trains), from three folders of ``../shared/data`` that each describe their files
differently. This script links them into one tree that ``noisetrace index --dataset folder`` reads::

    OUT/real/real_videos/<file>      ../shared/data/real_videos
    OUT/real/images/<file>           ../shared/data/images
    OUT/real/real_faces/<file>       ../shared/data/real_faces/{images,videos}
    OUT/identities.csv               one identity per person where the catalogs say who it is
    OUT/provenance.csv               file, SHA-256, repository, licence (for the model card)

Identities come from ``real_faces/catalog.csv``'s ``identity_hint`` and from the photo groups the
data README names for ``images/deepface_img*``; everything else is its own identity. The same hint
in two folders is one person, so a celebrity's photo and video never straddle train and val.

``wild_dev`` is never linked: the script refuses to run if any training file has the SHA-256 of a
``wild_dev`` file, so evaluation media can never leak into training by a copy under another name.

    python scripts/real_faces_tree.py ../shared/data -o work/real_faces_tree
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

from noisetrace.core.io import file_sha256

MEDIA = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".jpg", ".jpeg", ".png", ".bmp", ".webp"}
# ../shared/data/README.md: photos of one person among deepface's test images.
DEEPFACE_GROUPS = [
    {1, 2, 4, 5, 6, 7, 10, 11},
    {3, 12},
    {13, 14, 15},
    {16, 17},
    {18, 19},
    {20, 21},
    {22, 23},
    {24, 25},
    {8, 9},
]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def catalog_rows(path: Path) -> dict[str, dict[str, str]]:
    """A catalog's rows keyed by ``file`` (empty when the folder has no catalog)."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def deepface_identity(stem: str) -> str | None:
    match = re.search(r"deepface_img(\d+)$", stem)
    if not match:
        return None
    number = int(match.group(1))
    for group in DEEPFACE_GROUPS:
        if number in group:
            return f"deepface_person_{min(group)}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shared_data", type=Path, help="the ../shared/data folder")
    parser.add_argument("-o", "--out", type=Path, required=True, help="tree to create (links, CSVs)")
    args = parser.parse_args()
    data = args.shared_data.resolve()
    wild = data / "wild_dev"
    wild_hashes = {file_sha256(p) for p in wild.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA}

    top_catalog = catalog_rows(data / "catalog.csv")
    faces_catalog = catalog_rows(data / "real_faces" / "catalog.csv")
    sources = [
        ("real_videos", data / "real_videos", top_catalog, "real_videos/"),
        ("images", data / "images", top_catalog, "images/"),
        ("real_faces", data / "real_faces" / "images", faces_catalog, "images/"),
        ("real_faces", data / "real_faces" / "videos", faces_catalog, "videos/"),
    ]
    real = args.out / "real"
    identities: list[tuple[str, str]] = []
    provenance: list[dict[str, str]] = []
    for name, folder, catalog, prefix in sources:
        if not folder.is_dir():
            print(f"error: {folder} is missing", file=sys.stderr)
            return 2
        (real / name).mkdir(parents=True, exist_ok=True)
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in MEDIA and p.is_file()):
            digest = file_sha256(path)
            if digest in wild_hashes:
                print(f"error: {path} is a copy of a wild_dev file (evaluation only)", file=sys.stderr)
                return 2
            link = real / name / path.name
            if not link.exists():
                link.symlink_to(path)
            row = catalog.get(prefix + path.name, {})
            hint = (row.get("identity_hint") or "").strip()
            # A hint naming a group ("Solvay Conference 1927 attendee") is not one person.
            identity = slug(hint) if hint and "attendee" not in hint else None
            identity = identity or deepface_identity(path.stem) or f"{name}/{path.stem}"
            relative = link.relative_to(args.out).as_posix()
            identities.append((relative, identity))
            provenance.append(
                {
                    "file": relative,
                    "sha256": digest,
                    "repo": row.get("repo", ""),
                    "path_in_repo": row.get("path_in_repo", ""),
                    "commit": row.get("commit", ""),
                    "licence": row.get("licence_of_repo", ""),
                }
            )
    with (args.out / "identities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "identity"])
        writer.writerows(identities)
    with (args.out / "provenance.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(provenance[0]))
        writer.writeheader()
        writer.writerows(provenance)
    people = len({identity for _, identity in identities})
    print(f"{len(identities)} real files of {people} identities linked under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
