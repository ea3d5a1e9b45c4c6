"""Elementwise functions of one tensor: exp, log, tanh, sigmoid, relu, abs, sqrt, rsqrt, sin,
cos, log1p, expm1, erf, and the step functions sign, floor, ceil, round (gradient 0).

GELU, a fused op, is in gelu.py; the activations with parameters in activations.py.
"""

from __future__ import annotations

import math

from gradzoo.engine import backend
from gradzoo.engine.backend import float32, is_floating, xp_of
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


# ---------------------------------------------------------------------- more of the same kind


def as_floating(x):
    """``x`` as float32 where it holds integers or booleans (sqrt(4) is 2.0, as in PyTorch)."""
    return x if is_floating(x.dtype) else x.astype(float32)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        return xp_of(x).abs(x)

    def backward(self, grad):
        return (grad * xp_of(grad).sign(self.inputs[0].data),)


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y) (inf at x = 0, as PyTorch)."""

    def forward(self, x):
        self.out = xp_of(x).sqrt(as_floating(x))
        return self.out

    def backward(self, grad):
        xp = xp_of(grad)
        with xp.errstate(divide="ignore"):  # 1 / 0 = inf at x = 0 is the answer, not an accident
            return (grad / (2.0 * self.out),)


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dy/dx = -y^3 / 2 (-inf at x = 0, as PyTorch)."""

    def forward(self, x):
        x = as_floating(x)
        self.out = 1.0 / xp_of(x).sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad * (-0.5 * self.out * self.out * self.out),)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    def forward(self, x):
        return xp_of(x).sin(as_floating(x))

    def backward(self, grad):
        return (grad * xp_of(grad).cos(self.inputs[0].data),)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x."""

    def forward(self, x):
        return xp_of(x).cos(as_floating(x))

    def backward(self, grad):
        return (grad * -xp_of(grad).sin(self.inputs[0].data),)


class Log1p(Function):
    """y = ln(1 + x), accurate for small x;  dy/dx = 1 / (1 + x)."""

    def forward(self, x):
        return xp_of(x).log1p(as_floating(x))

    def backward(self, grad):
        return (grad / (1.0 + self.inputs[0].data),)


class Expm1(Function):
    """y = e^x - 1, accurate for small x;  dy/dx = e^x = y + 1."""

    def forward(self, x):
        self.out = xp_of(x).expm1(as_floating(x))
        return self.out

    def backward(self, grad):
        return (grad * (self.out + 1.0),)


class Erf(Function):
    """y = erf x = (2 / sqrt(pi)) int_0^x e^(-t^2) dt;  dy/dx = (2 / sqrt(pi)) e^(-x^2).

    The value comes from ``backend.erf`` (exact in float64 on the CPU).
    """

    def forward(self, x):
        return backend.erf(as_floating(x))

    def backward(self, grad):
        x = self.inputs[0].data
        return (grad * (TWO_OVER_SQRT_PI * xp_of(x).exp(-(x * x))),)


TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class _StepFunction:
    """Piecewise-constant functions (sign, floor, ceil, round): their derivative is 0.

    0 wherever it exists; PyTorch gives 0 at the steps too, so the backward is zeros
    and gradients stop here without an error (the output still requires grad).
    """

    def backward(self, grad):
        return (xp_of(grad).zeros_like(grad),)


class Sign(_StepFunction, Function):
    """y = -1, 0 or 1 by the sign of x;  dy/dx = 0."""

    def forward(self, x):
        return xp_of(x).sign(x)


class Floor(_StepFunction, Function):
    """y = the largest integer <= x;  dy/dx = 0. Integer tensors stay as they are."""

    def forward(self, x):
        return xp_of(x).floor(x) if is_floating(x.dtype) else x.copy()


class Ceil(_StepFunction, Function):
    """y = the smallest integer >= x;  dy/dx = 0. Integer tensors stay as they are."""

    def forward(self, x):
        return xp_of(x).ceil(x) if is_floating(x.dtype) else x.copy()


class Round(_StepFunction, Function):
    """y = x rounded to ``decimals`` places, halves to even (2.5 -> 2), as PyTorch;  dy/dx = 0."""

    parameters = ("decimals",)
    decimals = 0

    def forward(self, x):
        if not is_floating(x.dtype):
            if self.decimals:
                raise NotImplementedError("round(decimals=...) needs a floating-point tensor, "
                                          f"not {x.dtype}")
            return x.copy()
        return xp_of(x).round(x, self.decimals)
