"""``Embedding``: a table of learned vectors, one row per token id."""

from __future__ import annotations

from gradzoo.engine import functional as F
from gradzoo.engine.nn import init
from gradzoo.engine.nn.module import Module
from gradzoo.engine.tensor import Tensor


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) is the vector of token ``i``.

    Looking up a row is the same as multiplying a one-hot vector by ``weight``,
    without building the one-hot vector. Initial values ~ N(0, 1), as in PyTorch.

    >>> from gradzoo.engine import nn, tensor
    >>> nn.Embedding(10, 4)(tensor([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, device: str | None = None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.weight = init.normal_(init.new_parameter(num_embeddings, embedding_dim, device=device))

    def forward(self, idx) -> Tensor:
        """Vectors of the integer ids ``idx``: shape ``idx.shape + (embedding_dim,)``."""
        return F.embedding(idx, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
