"""Padding: grow (or, with negative pads, crop) the last dimensions of a tensor.

``pad`` is given as PyTorch gives it, the last dimension first:
``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two.

    constant:   y = value outside, x copied inside;      dL/dx = g cut back to x's place
    reflect:    y[p] = x[reflect(p - left)]  (the edge not repeated: 2 1 | 0 1 2 | 1 0)
    replicate:  y[p] = x[clip(p - left)]     (the edge repeated:     0 0 | 0 1 2 | 2 2)
    circular:   y[p] = x[(p - left) mod n]   (wrapped around:        1 2 | 0 1 2 | 0 1)

The last three are gathers along each padded dim by a map from output to input positions,
so their backward is the scatter-add by the same maps (an edge value used three times
gets three gradients).
"""

from __future__ import annotations

from gradzoo.engine.backend import scatter_add, xp_of
from gradzoo.engine.function import Function

MODES = ("constant", "reflect", "replicate", "circular")


def pad_pairs(pad, ndim: int) -> list[tuple[int, int, int]]:
    """``(dim, before, after)`` for each padded dim, from PyTorch's last-dim-first ``pad``."""
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


def source_map(xp, mode: str, size: int, before: int, after: int):
    """For each output position along one dim, the input position it copies.

    A negative pad crops first (as PyTorch does); the positive ones then pad what is kept.
    """
    cropped = max(-before, 0)
    size -= cropped + max(-after, 0)
    before, after = max(before, 0), max(after, 0)
    j = xp.arange(size + before + after) - before
    if mode == "reflect":
        j = xp.abs(j)
        j = xp.where(j > size - 1, 2 * (size - 1) - j, j)
    elif mode == "replicate":
        j = xp.clip(j, 0, size - 1)
    else:  # circular
        j = j % size
    return j + cropped


class Pad(Function):
    """y = x padded by ``pad`` (last dim first) in ``mode``; backward takes g back to x's places."""

    parameters = ("pad", "mode", "value")
    mode = "constant"
    value = 0.0

    def forward(self, x):
        xp = xp_of(x)
        pairs = pad_pairs(self.pad, x.ndim)
        if self.mode == "constant":
            shape = list(x.shape)
            src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
            for dim, before, after in pairs:
                size = x.shape[dim]
                shape[dim] = size + before + after
                start, stop = max(-before, 0), size - max(-after, 0)
                kept = max(stop - start, 0)
                src[dim] = slice(start, start + kept)
                dst[dim] = slice(max(before, 0), max(before, 0) + kept)
            self.src, self.dst = tuple(src), tuple(dst)
            out = xp.full(tuple(shape), self.value, dtype=x.dtype)
            out[self.dst] = x[self.src]
            return out
        self.maps = [(dim, source_map(xp, self.mode, x.shape[dim], before, after))
                     for dim, before, after in pairs]
        for dim, source in self.maps:
            x = xp.take(x, source, axis=dim)
        return x

    def backward(self, grad):
        xp = xp_of(grad)
        shape = self.inputs[0].shape
        if self.mode == "constant":
            grad_x = xp.zeros(shape, dtype=grad.dtype)
            grad_x[self.src] = grad[self.dst]
            return (grad_x,)
        for dim, source in reversed(self.maps):
            smaller = list(grad.shape)
            smaller[dim] = shape[dim]
            grad_in = xp.zeros(tuple(smaller), dtype=grad.dtype)
            # dim first on both sides (views): each output position adds into one input row
            scatter_add(xp.moveaxis(grad_in, dim, 0), source, xp.moveaxis(grad, dim, 0))
            grad = grad_in
        return (grad,)
