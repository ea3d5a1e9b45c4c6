"""Elementwise functions: exp, log, tanh, sigmoid, relu, gelu."""

from __future__ import annotations

import math

from gradzoo.engine.backend import erf, xp_of
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


SQRT_2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GELU(Function):
    """y = x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    exact:  Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x),
            phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    "tanh": y = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3);
            dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2.
    """

    approximate = "none"

    def forward(self, x):
        xp = xp_of(x)
        if self.approximate == "tanh":
            self.t = xp.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1.0 + self.t)
        self.cdf = 0.5 * (1.0 + erf(x / SQRT_2))
        return x * self.cdf

    def backward(self, grad):
        x = self.inputs[0].data
        if self.approximate == "tanh":
            t = self.t
            du_dx = SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
            return (grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx),)
        pdf = INV_SQRT_2PI * xp_of(x).exp(-0.5 * x * x)
        return (grad * (self.cdf + x * pdf),)
