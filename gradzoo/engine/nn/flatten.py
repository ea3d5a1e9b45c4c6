"""``Flatten``: merge dims ``start_dim`` .. ``end_dim`` into one, as between conv and MLP.

>>> from gradzoo.engine import nn, tensor
>>> nn.Flatten()(tensor([[[[1.0, 2.0], [3.0, 4.0]]]])).shape
(1, 4)
"""

from __future__ import annotations

from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class Flatten(Module):
    """(N, C, H, W) -> (N, C H W) by default (the batch dim, 0, is kept)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
