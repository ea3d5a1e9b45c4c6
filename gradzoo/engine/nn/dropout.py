"""``Dropout``: randomly silence features while training, to fight over-fitting."""

from __future__ import annotations

from gradzoo.engine import functional as F
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode, scaling the rest by 1/(1-p).

    In evaluation mode (``model.eval()``) it passes its input through unchanged.
    The scaling keeps the expected value the same in both modes.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is a probability and must lie in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
