"""Elementwise functions: exp, log, tanh, sigmoid, relu, gelu."""

from __future__ import annotations

import math

from gradzoo.engine.backend import normal_cdf, xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.gpu_kernels import kernels_for


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
GELU_BLOCK = 65536  # elements per block: 256 KiB of float32 per temporary array


class GELU(Function):
    """y = x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    exact:  Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x),
            phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    "tanh": y = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3);
            dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2.

    The forward pass computes the slope dy/dx too, while Phi(x) and phi(x) are at
    hand, so backward is one product: dL/dx = g * slope. On a real GPU one fused
    kernel computes y and the slope.
    """

    approximate = "none"

    def forward(self, x):
        xp = xp_of(x)
        kernels = kernels_for(x)
        if kernels is not None and self.approximate == "none":
            y, self.slope = kernels.gelu(x)
            return y
        flat = x.reshape(-1)  # 1-D, so that every step below can work in place (also for 0-d)
        forward = self._forward_tanh if self.approximate == "tanh" else self._forward_exact
        y, slope = xp.empty_like(flat), xp.empty_like(flat)
        # Block by block: the few temporary arrays of a block stay in the CPU's cache,
        # where a pass over a whole activation (megabytes) would go to memory each time.
        for start in range(0, flat.shape[0], GELU_BLOCK):
            block = slice(start, start + GELU_BLOCK)
            forward(xp, flat[block], y[block], slope[block])
        self.slope = slope.reshape(x.shape)
        return y.reshape(x.shape)

    def _forward_exact(self, xp, x, y, slope):
        """y = x Phi(x) and slope = Phi(x) + x phi(x), written into ``y`` and ``slope``."""
        density = x * x
        density *= -0.5
        xp.exp(density, out=density)
        density *= INV_SQRT_2PI                      # phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        cdf = normal_cdf(x, density)                 # Phi(x)
        xp.multiply(x, cdf, out=y)                   # y = x Phi(x)
        density *= x
        xp.add(cdf, density, out=slope)              # slope = Phi(x) + x phi(x)

    def _forward_tanh(self, xp, x, y, slope):
        """The tanh approximation of y and of its slope, written into ``y`` and ``slope``."""
        u = x * x
        u *= 0.044715
        u += 1.0
        u *= x
        u *= SQRT_2_OVER_PI                          # u = sqrt(2/pi) (x + 0.044715 x^3)
        t = xp.tanh(u, out=u)
        half_one_plus_t = t + 1.0
        half_one_plus_t *= 0.5                       # (1 + tanh u) / 2
        xp.multiply(x, half_one_plus_t, out=y)       # y = x (1 + tanh u) / 2
        du_dx = x * x
        du_dx *= 3 * 0.044715
        du_dx += 1.0
        du_dx *= SQRT_2_OVER_PI                      # du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
        t *= t
        xp.subtract(1.0, t, out=t)                   # 1 - tanh^2 u
        t *= du_dx
        t *= x
        t *= 0.5
        xp.add(t, half_one_plus_t, out=slope)        # slope

    def backward(self, grad):
        return (grad * self.slope,)
