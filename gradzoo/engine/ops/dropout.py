"""Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p)."""

from __future__ import annotations

from gradzoo.engine.backend import random_uniform
from gradzoo.engine.function import Function


class Dropout(Function):
    """y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p);  dy/dx = mask / (1 - p).

    Scaling during training keeps the expected value of y equal to x, so
    evaluation needs no change.
    """

    parameters = ("p", "device")

    def forward(self, x):
        keep = random_uniform(x.shape, self.device, x.dtype) >= self.p
        self.mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad):
        return (grad * self.mask,)
