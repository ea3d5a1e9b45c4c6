"""Elementwise functions: exp, log, tanh, sigmoid, relu (GELU, a fused op, is in gelu.py)."""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


class Exp(Function):
    """y = e^x;  dy/dx = e^x = y."""

    def forward(self, x):
        self.out = xp_of(x).exp(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    """y = ln x;  dy/dx = 1 / x."""

    def forward(self, x):
        return xp_of(x).log(x)

    def backward(self, grad):
        return (grad / self.inputs[0].data,)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - y^2."""

    def forward(self, x):
        self.out = xp_of(x).tanh(x)
        return self.out

    def backward(self, grad):
        return (grad * (1.0 - self.out * self.out),)


def sigmoid_(xp, a):
    """sigmoid(a) in place, as (1 + tanh(a / 2)) / 2 (the same function; never overflows)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y).

    Computed as (1 + tanh(x/2)) / 2, the same function, which never overflows.
    """

    def forward(self, x):
        self.out = 0.5 * (xp_of(x).tanh(0.5 * x) + 1.0)
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1.0 - self.out),)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0."""

    def forward(self, x):
        return xp_of(x).maximum(x, 0)

    def backward(self, grad):
        x = self.inputs[0].data
        return (grad * (x > 0),)
