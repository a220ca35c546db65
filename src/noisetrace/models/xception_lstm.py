"""XceptionNet + LSTM sequence classifier (Atamna et al., ICIP 2023, §2.1 and Fig. 1).

"A pre-trained XceptionNet without the fully connected layer, where the last of the remaining layers'
outputs are fed into a single-layer LSTM with 256 hidden units. The LSTM's output is used to classify
the input sequence", following Güera & Delp (AVSS 2018). Each frame gives one 2048-d pooled feature;
the LSTM reads the L features in order and its last hidden state is classified. L is free (the paper
uses 5, and 5 to 60 in its Table 2) because the LSTM is unrolled over whatever length arrives.

The LSTM adds 4·(256·(2048 + 256) + 2·256) = 2,361,344 parameters (PyTorch keeps two bias vectors per
gate) and the classifier 514, for 23,168,810 in all with the ``legacy_xception`` trunk.
"""

from __future__ import annotations

import torch
from torch import nn

from noisetrace.models.detector import Detector, DetectorSpec, backbone_feature_dim
from noisetrace.models.registry import register_detector

__all__ = ["LSTMHead", "SequenceDetector"]


class LSTMHead(nn.Module):
    """Per-frame features ``(B, L, F)`` → one-layer LSTM → linear classifier on the last step."""

    def __init__(self, in_features: int, hidden: int, num_logits: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden, num_logits)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(features)
        return self.fc(h_n[-1])


@register_detector("xception_lstm")
class SequenceDetector(Detector):
    """L consecutive frames → backbone per frame → :class:`LSTMHead` → logits ``(B, num_logits)``."""

    is_sequence = True

    def __init__(self, spec: DetectorSpec, backbone: nn.Module) -> None:
        head = LSTMHead(backbone_feature_dim(backbone), spec.lstm_hidden, spec.num_logits)
        super().__init__(spec, backbone, head=head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, 3, H, W)`` pixels in ``[0, 1]`` → logits ``(B, num_logits)``.

        The B·L frames go through the backbone as one batch, so BatchNorm sees all of them at once.
        """
        self._check_input(x)
        batch, length = x.shape[:2]
        features = self.frame_features(x.flatten(0, 1))
        return self.head(features.view(batch, length, -1))
