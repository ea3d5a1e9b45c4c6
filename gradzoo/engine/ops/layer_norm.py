"""Layer normalisation (Ba, Kiros & Hinton, 2016) with its analytic backward.

``LayerNorm`` is one fused Function; ``layer_norm_composed`` below is the same
computation with the small ops (mean, subtract, multiply, sqrt), the teaching
version that the tests compare it with.
"""

from __future__ import annotations

import math

from gradzoo.engine.backend import sum_first_axis, sum_last_axis, xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.gpu_kernels import kernels_for


class LayerNorm(Function):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale and shift.

        mu = mean(x),  var = mean((x - mu)^2)   (biased, as in PyTorch)
        x_hat = (x - mu) / sqrt(var + eps),     y = x_hat * weight + bias

    Backward, with n the number of normalised elements and g_hat = g * weight:
        dL/dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sqrt(var + eps)
        dL/dweight = sum over the other dims of g * x_hat,  dL/dbias = sum of g
    A constant row has var = 0, so 1/sqrt(eps) keeps it finite.

    The normalised dims are the trailing ones, so the work is done on x seen as a
    matrix of rows, (rows, n): every mean is along axis 1 and every parameter
    gradient a sum along axis 0.
    """

    eps = 1e-5
    has_weight = False
    has_bias = False

    def forward(self, x, *affine):
        xp = xp_of(x)
        n = math.prod(self.normalized_shape)
        rows = x.reshape(-1, n)
        weight = affine[0].reshape(n) if self.has_weight else 1.0
        bias = affine[-1].reshape(n) if self.has_bias else 0.0
        mu = sum_last_axis(rows) * (1.0 / n)
        kernels = kernels_for(x)
        if kernels is not None:  # two GPU passes: the variance, then x_hat and y together
            variance = kernels.sum_squared_deviation(rows, mu, axis=1, keepdims=True) / n
            self.inv_std = 1.0 / xp.sqrt(variance + self.eps)
            self.x_hat, out = kernels.layer_norm(rows, mu, self.inv_std, weight, bias)
            return out.reshape(x.shape)
        centered = rows - mu
        squared = centered * centered
        variance = sum_last_axis(squared) * (1.0 / n)
        self.inv_std = 1.0 / xp.sqrt(variance + self.eps)
        centered *= self.inv_std                     # x_hat, in place
        self.x_hat = centered
        if not (self.has_weight or self.has_bias):
            return centered.reshape(x.shape).copy()  # x_hat is kept for backward: a copy out
        out = xp.multiply(centered, weight, out=squared)  # reuse the buffer of the squares
        if self.has_bias:
            out += bias
        return out.reshape(x.shape)

    def backward(self, grad):
        xp, x_hat = xp_of(grad), self.x_hat
        n = x_hat.shape[1]
        g = grad.reshape(-1, n)
        weight = self.inputs[1].data.reshape(n) if self.has_weight else None
        g_x_hat = g * x_hat  # summed over the rows: dL/dweight
        shape = self.normalized_shape
        grads = [None]  # dL/dx goes first, below
        if self.has_weight:
            grads.append(sum_first_axis(g_x_hat).reshape(shape))
        if self.has_bias:
            grads.append(sum_first_axis(g).reshape(shape))
        kernels = kernels_for(grad)
        if kernels is not None:
            if weight is None:
                mean_g = g.sum(axis=1, keepdims=True) / n
                mean_gx = kernels.sum_product(g, x_hat, axis=1, keepdims=True) / n
            else:
                mean_g = kernels.sum_product(g, weight, axis=1, keepdims=True) / n
                mean_gx = kernels.sum_product3(g, weight, x_hat, axis=1, keepdims=True) / n
            w = 1.0 if weight is None else weight
            grad_x = kernels.layer_norm_backward(g, w, x_hat, mean_g, mean_gx, self.inv_std)
        else:
            # Both means are products with the weight (one BLAS call each, no g_hat first):
            # mean(g_hat) = (g . weight) / n,   mean(g_hat x_hat) = ((g x_hat) . weight) / n
            w = xp.ones(n, dtype=g.dtype) if weight is None else weight
            mean_g = (g @ w).reshape(-1, 1) * (1.0 / n)
            mean_gx = (g_x_hat @ w).reshape(-1, 1) * (1.0 / n)
            grad_x = g * w                               # g_hat
            grad_x -= mean_g
            # g x_hat has been used (its sums are taken): its buffer takes x_hat mean(g_hat x_hat)
            grad_x -= xp.multiply(x_hat, mean_gx, out=g_x_hat)
            grad_x *= self.inv_std
        grads[0] = grad_x.reshape(grad.shape)
        return tuple(grads)


def layer_norm_composed(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """The teaching version, with the small ops: mean, subtract, square, mean, divide by sqrt."""
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    centered = x - x.mean(dim=dims, keepdim=True)
    variance = (centered * centered).mean(dim=dims, keepdim=True)
    x_hat = centered / (variance + eps) ** 0.5
    out = x_hat if weight is None else x_hat * weight
    return out if bias is None else out + bias
