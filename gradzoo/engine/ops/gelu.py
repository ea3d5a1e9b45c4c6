"""GELU, y = x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016), as one op.

    exact:  Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy/dx = Phi(x) + x phi(x),
            phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    "tanh": y = x (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3);
            dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2.

Phi is computed by Abramowitz & Stegun 26.2.17 (``backend.normal_cdf``, error
below 7.5e-8), exactly with erf in float64 on the CPU. The fused op computes
the slope dy/dx in the forward pass, while Phi(x) and phi(x) are at hand, so
its backward is one product: dL/dx = g * slope.
"""

from __future__ import annotations

import math

from gradzoo.engine.backend import normal_cdf, overridable, xp_of
from gradzoo.engine.function import Function

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_BLOCK = 65536  # elements per block: 256 KiB of float32 per temporary array
# Abramowitz & Stegun 26.2.17: Phi(-z) = phi(z) (b1 t + ... + b5 t^5), t = 1 / (1 + p z)
AS_P = 0.2316419
AS_B = (0.319381530, -0.356563782, 1.781477937, -1.821255978, 1.330274429)


def gelu_composed(x, approximate: str = "none"):
    """GELU with the small ops: the formulas above, Phi by Abramowitz & Stegun."""
    if approximate == "tanh":
        u = (x + 0.044715 * x * x * x) * SQRT_2_OVER_PI
        return 0.5 * x * (1.0 + u.tanh())
    density = (x * x * -0.5).exp() * INV_SQRT_2PI           # phi(x)
    t = 1.0 / (1.0 + AS_P * (x.relu() + (-x).relu()))       # t = 1 / (1 + p |x|)
    b1, b2, b3, b4, b5 = AS_B
    tail = density * t * (b1 + t * (b2 + t * (b3 + t * (b4 + t * b5))))  # Phi(-|x|)
    cdf = tail + (x >= 0) * (1.0 - 2.0 * tail)              # Phi(x) = 1 - Phi(-x) for x >= 0
    return x * cdf


def _blockwise(formula, x):
    """(y, slope) of ``formula`` over x, block by block.

    The few temporary arrays of a block stay in the CPU's cache, where a pass over
    a whole activation (megabytes) would go to memory each time.
    """
    xp = xp_of(x)
    flat = x.reshape(-1)  # 1-D, so that every step can work in place (also for 0-d)
    y, slope = xp.empty_like(flat), xp.empty_like(flat)
    for start in range(0, flat.shape[0], GELU_BLOCK):
        block = slice(start, start + GELU_BLOCK)
        formula(xp, flat[block], y[block], slope[block])
    return y.reshape(x.shape), slope.reshape(x.shape)


def _exact(xp, x, y, slope):
    """y = x Phi(x) and slope = Phi(x) + x phi(x), written into ``y`` and ``slope``."""
    density = x * x
    density *= -0.5
    xp.exp(density, out=density)
    density *= INV_SQRT_2PI                      # phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    cdf = normal_cdf(x, density)                 # Phi(x)
    xp.multiply(x, cdf, out=y)                   # y = x Phi(x)
    density *= x
    xp.add(cdf, density, out=slope)              # slope = Phi(x) + x phi(x)


def _tanh(xp, x, y, slope):
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


@overridable
def gelu_exact(x):
    """(y, dy/dx) of the exact GELU."""
    return _blockwise(_exact, x)


@overridable
def gelu_tanh(x):
    """(y, dy/dx) of the tanh approximation."""
    return _blockwise(_tanh, x)


class GELU(Function):
    """y = x Phi(x) (``approximate="tanh"``: its tanh approximation); dL/dx = g * slope."""

    parameters = ("approximate",)
    approximate = "none"
    composed = staticmethod(gelu_composed)

    def forward(self, x):
        y, self.slope = (gelu_tanh if self.approximate == "tanh" else gelu_exact)(x)
        return y

    def backward(self, grad):
        return (grad * self.slope,)
