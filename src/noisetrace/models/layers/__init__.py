"""Fixed, weight-free layers used by the detectors (no registry, no checkpoints, no training logic)."""

from noisetrace.models.layers.srm import SRM_KERNEL_NAMES, SRM_KERNELS, SRMConv2d, srm_weight

__all__ = ["SRM_KERNELS", "SRM_KERNEL_NAMES", "SRMConv2d", "srm_weight"]
