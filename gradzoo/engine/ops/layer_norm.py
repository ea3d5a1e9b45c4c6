"""Layer normalisation (Ba, Kiros & Hinton, 2016) with its analytic backward.

Over the n = prod(normalized_shape) trailing elements of each row:

    mu = mean(x),  var = mean((x - mu)^2)   (biased, as in PyTorch)
    x_hat = (x - mu) / sqrt(var + eps),     y = x_hat * weight + bias

Backward, with g_hat = g * weight and r = 1 / sqrt(var + eps):

    dL/dx = r (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))
    dL/dweight = sum over the other dims of g * x_hat,  dL/dbias = sum of g

A constant row has var = 0, so 1/sqrt(eps) keeps it finite. The composed
version below is the first formula with the small ops; the fused op writes
both out on x seen as a matrix of rows, (rows, n): every mean is along axis 1
and every parameter gradient a sum along axis 0.
"""

from __future__ import annotations

import math

from gradzoo.engine.backend import overridable, sum_first_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function


def layer_norm_composed(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """layer_norm with the small ops: mean, subtract, square, mean, divide by sqrt."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    centered = x - x.mean(dim=dims, keepdim=True)
    variance = (centered * centered).mean(dim=dims, keepdim=True)
    x_hat = centered / (variance + eps) ** 0.5
    out = x_hat if weight is None else x_hat * weight
    return out if bias is None else out + bias


@overridable
def normalize_rows(rows, weight, bias, eps: float):
    """(x_hat, 1 / sqrt(var + eps), y) of each row; ``weight`` and ``bias`` are (n,) or None."""
    xp, n = xp_of(rows), rows.shape[1]
    centered = rows - sum_last_axis(rows) * (1.0 / n)      # x - mu
    squared = centered * centered
    inv_std = 1.0 / xp.sqrt(sum_last_axis(squared) * (1.0 / n) + eps)
    centered *= inv_std                                    # x_hat, in place
    if weight is None and bias is None:
        return centered, inv_std, centered.copy()          # x_hat is kept for backward: a copy
    out = xp.multiply(centered, 1.0 if weight is None else weight, out=squared)  # its buffer
    if bias is not None:
        out += bias
    return centered, inv_std, out


@overridable
def layer_norm_input_grad(g, weight, x_hat, inv_std, g_x_hat):
    """dL/dx of the rows, given g * x_hat (its buffer is reused: the caller is done with it).

    Both means are products with the weight (one BLAS call each, no g_hat first):
    mean(g_hat) = (g . weight) / n,   mean(g_hat x_hat) = ((g x_hat) . weight) / n
    """
    xp, n = xp_of(g), g.shape[1]
    w = xp.ones(n, dtype=g.dtype) if weight is None else weight
    mean_g = (g @ w).reshape(-1, 1) * (1.0 / n)
    mean_gx = (g_x_hat @ w).reshape(-1, 1) * (1.0 / n)
    grad_x = g * w                                         # g_hat
    grad_x -= mean_g
    grad_x -= xp.multiply(x_hat, mean_gx, out=g_x_hat)
    grad_x *= inv_std
    return grad_x


class LayerNorm(Function):
    """Normalise the last ``len(normalized_shape)`` dims, then scale and shift (see above)."""

    parameters = ("normalized_shape", "eps", "has_weight", "has_bias")
    eps = 1e-5
    has_weight = False
    has_bias = False
    composed = staticmethod(layer_norm_composed)

    def forward(self, x, *affine):
        n = math.prod(self.normalized_shape)
        weight = affine[0].reshape(n) if self.has_weight else None
        bias = affine[-1].reshape(n) if self.has_bias else None
        self.x_hat, self.inv_std, out = normalize_rows(x.reshape(-1, n), weight, bias, self.eps)
        return out.reshape(x.shape)

    def backward(self, grad):
        x_hat, shape = self.x_hat, self.normalized_shape
        g = grad.reshape(x_hat.shape)
        g_x_hat = g * x_hat  # summed over the rows: dL/dweight
        weight = self.inputs[1].data.reshape(-1) if self.has_weight else None
        grads = []
        if self.has_weight:
            grads.append(sum_first_axis(g_x_hat).reshape(shape))
        if self.has_bias:
            grads.append(sum_first_axis(g).reshape(shape))
        grad_x = layer_norm_input_grad(g, weight, x_hat, self.inv_std, g_x_hat)
        return (grad_x.reshape(grad.shape), *grads)
