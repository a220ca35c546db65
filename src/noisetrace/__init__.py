"""noisetrace: facial manipulation detection with SRM noise residuals and temporal features.

Reproduces and extends Atamna, Tkachenko and Miguet, *Improving Generalization in Facial
Manipulation Detection Using Image Noise Residuals and Temporal Features* (ICIP 2023).
The pipeline is a chain of stages, one package each (see docs/architecture.md):
datasets → faces → data → models → training → evaluation → protocols → report, plus synth and predict.
"""

__version__ = "0.1.0"
