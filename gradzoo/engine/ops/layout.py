"""Ops that lay the same values out again: expand (broadcast), repeat (tile), flip (reverse).

Each output element is one input element, so the gradient of an input element is
the sum of the gradients of the places it went to.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function, unbroadcast


class Expand(Function):
    """y = x broadcast to ``shape`` (size-1 dims stretched, new leading dims added; a view,
    no copy, as in PyTorch);  each x element is used once per copy, so dL/dx sums dL/dy
    over the stretched dims."""

    parameters = ("shape",)

    def forward(self, x):
        return xp_of(x).broadcast_to(x, self.shape)

    def backward(self, grad):
        return (unbroadcast(grad, self.inputs[0].shape),)


class Repeat(Function):
    """y = x tiled ``repeats[i]`` times along dim i (``repeats`` may add leading dims).

    Backward: view dL/dy of shape (r0 s0, r1 s1, ...) as (r0, s0, r1, s1, ...) and sum
    over the r axes: each x element gets the gradients of all its copies.
    """

    parameters = ("repeats",)

    def forward(self, x):
        return xp_of(x).tile(x, self.repeats)

    def backward(self, grad):
        x_shape = self.inputs[0].shape
        padded = (1,) * (len(self.repeats) - len(x_shape)) + tuple(x_shape)
        split = [size for pair in zip(self.repeats, padded) for size in pair]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(x_shape),)


class Flip(Function):
    """y = x with the order of its elements reversed along ``dims``;  flipping the gradient
    the same way puts each one back on its element."""

    parameters = ("dims",)

    def forward(self, x):
        return xp_of(x).flip(x, axis=self.dims) if self.dims else x.copy()

    def backward(self, grad):
        return (xp_of(grad).flip(grad, axis=self.dims) if self.dims else grad,)
