"""Embedding lookup: row ``i`` of the weight matrix for each index ``i``."""

from __future__ import annotations

from gradzoo.engine.backend import is_integer, scatter_add, xp_of
from gradzoo.engine.function import Function


class Embedding(Function):
    """y[..., :] = weight[idx[...], :];  each used row gets the sum of its output gradients."""

    parameters = ("idx",)

    def forward(self, weight):
        idx = self.idx
        if not is_integer(idx.dtype):
            raise TypeError(f"embedding: indices must be integers, not {idx.dtype}")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= weight.shape[0]):
            raise IndexError(f"embedding: indices must lie in [0, {weight.shape[0] - 1}], "
                             f"got values from {int(idx.min())} to {int(idx.max())}")
        return weight[idx]

    def backward(self, grad):
        weight = self.inputs[0]
        grad_weight = xp_of(grad).zeros(weight.shape, dtype=grad.dtype)
        scatter_add(grad_weight, self.idx.reshape(-1), grad.reshape(-1, weight.shape[1]))
        return (grad_weight,)
