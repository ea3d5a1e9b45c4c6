"""Activation functions with a parameter or a kink of their own, as in ``torch.nn.functional``.

softplus, leaky_relu, elu, silu, hardtanh, logsigmoid: each one formula, its
derivative beside it. At a kink the gradient is PyTorch's choice (said per op).
Integer inputs are computed in float32.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.ops.unary import as_floating


def _sigmoid(xp, a):
    """1 / (1 + e^-a), as (1 + tanh(a / 2)) / 2 (the same function; never overflows)."""
    return 0.5 * (xp.tanh(0.5 * a) + 1.0)


class Softplus(Function):
    """y = ln(1 + e^(beta x)) / beta, and y = x where beta x > threshold (PyTorch's cut-off);
    dy/dx = sigmoid(beta x), and 1 past the threshold."""

    parameters = ("beta", "threshold")
    beta = 1.0
    threshold = 20.0

    def forward(self, x):
        xp = xp_of(x)
        x = as_floating(x)
        scaled = x * self.beta
        self.linear = scaled > self.threshold
        smooth = xp.log1p(xp.exp(xp.minimum(scaled, self.threshold))) / self.beta
        return xp.where(self.linear, x, smooth)

    def backward(self, grad):
        xp = xp_of(grad)
        slope = _sigmoid(xp, self.inputs[0].data * self.beta)
        return (grad * xp.where(self.linear, 1.0, slope).astype(grad.dtype),)


class LogSigmoid(Function):
    """y = ln sigmoid(x) = min(x, 0) - ln(1 + e^-|x|) (never overflows);
    dy/dx = 1 - sigmoid(x) = sigmoid(-x)."""

    def forward(self, x):
        xp = xp_of(x)
        x = as_floating(x)
        return xp.minimum(x, 0.0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, grad):
        return (grad * _sigmoid(xp_of(grad), -self.inputs[0].data),)


class SiLU(Function):
    """y = x sigmoid(x) (also called swish);  dy/dx = s (1 + x (1 - s)), s = sigmoid(x)."""

    def forward(self, x):
        x = as_floating(x)
        self.s = _sigmoid(xp_of(x), x)
        return x * self.s

    def backward(self, grad):
        x, s = self.inputs[0].data, self.s
        return (grad * (s * (1.0 + x * (1.0 - s))),)


class LeakyReLU(Function):
    """y = x where x > 0, else negative_slope * x;
    dy/dx = 1 where x > 0, else negative_slope (at 0 too, as PyTorch)."""

    parameters = ("negative_slope",)
    negative_slope = 0.01

    def forward(self, x):
        x = as_floating(x)
        return xp_of(x).where(x > 0, x, x * self.negative_slope)

    def backward(self, grad):
        x = self.inputs[0].data
        return (xp_of(grad).where(x > 0, grad, grad * self.negative_slope),)


class ELU(Function):
    """y = x where x > 0, else alpha (e^x - 1);
    dy/dx = 1 where x > 0, else alpha e^x (alpha at 0, as PyTorch)."""

    parameters = ("alpha",)
    alpha = 1.0

    def forward(self, x):
        xp = xp_of(x)
        x = as_floating(x)
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0.0)))

    def backward(self, grad):
        xp = xp_of(grad)
        x = self.inputs[0].data
        return (xp.where(x > 0, grad, grad * (self.alpha * xp.exp(xp.minimum(x, 0.0)))),)


class Hardtanh(Function):
    """y = x clipped to [min_val, max_val];
    dy/dx = 1 strictly inside, 0 outside and at the bounds (as PyTorch; clamp passes them)."""

    parameters = ("min_val", "max_val")
    min_val = -1.0
    max_val = 1.0

    def forward(self, x):
        return xp_of(x).clip(x, self.min_val, self.max_val).astype(x.dtype, copy=False)

    def backward(self, grad):
        x = self.inputs[0].data
        return (grad * ((x > self.min_val) & (x < self.max_val)),)
