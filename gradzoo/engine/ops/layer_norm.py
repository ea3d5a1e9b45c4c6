"""Layer normalisation (Ba, Kiros & Hinton, 2016) with its analytic backward."""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


class LayerNorm(Function):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale and shift.

        mu = mean(x),  var = mean((x - mu)^2)   (biased, as in PyTorch)
        x_hat = (x - mu) / sqrt(var + eps),     y = x_hat * weight + bias

    Backward, with n the number of normalised elements and g_hat = g * weight:
        dL/dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sqrt(var + eps)
        dL/dweight = sum over the other dims of g * x_hat,  dL/dbias = sum of g
    A constant row has var = 0, so 1/sqrt(eps) keeps it finite.
    """

    eps = 1e-5
    has_weight = False
    has_bias = False

    def forward(self, x, *affine):
        xp = xp_of(x)
        self.axes = tuple(range(x.ndim - len(self.normalized_shape), x.ndim))
        centered = x - x.mean(axis=self.axes, keepdims=True)
        variance = (centered * centered).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(variance + self.eps)
        self.x_hat = centered * self.inv_std
        out = self.x_hat
        if self.has_weight:
            out = out * affine[0]
        if self.has_bias:
            out = out + affine[-1]
        return out

    def backward(self, grad):
        x_hat = self.x_hat
        leading = tuple(range(grad.ndim - len(self.axes)))
        grads = []
        g_hat = grad * self.inputs[1].data if self.has_weight else grad
        mean_g = g_hat.mean(axis=self.axes, keepdims=True)
        mean_gx = (g_hat * x_hat).mean(axis=self.axes, keepdims=True)
        grads.append((g_hat - mean_g - x_hat * mean_gx) * self.inv_std)
        if self.has_weight:
            grads.append((grad * x_hat).sum(axis=leading))
        if self.has_bias:
            grads.append(grad.sum(axis=leading))
        return tuple(grads)
