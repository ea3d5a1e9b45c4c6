"""Running sums and products along one dimension: cumsum and cumprod.

    cumsum:   y_i = sum_{j<=i} x_j            dL/dx_j = sum_{i>=j} g_i  (a cumsum from the end)
    cumprod:  y_i = prod_{j<=i} x_j           dL/dx_k = sum_{i>=k} g_i prod_{j<=i, j!=k} x_j

Integer and boolean inputs give int64 running totals, as in PyTorch.
"""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


def _total_dtype(x):
    return None if backend.is_floating(x.dtype) else backend.int64


def _reverse_cumsum(a, axis: int):
    """sum_{i>=j} a_i for every j along ``axis``."""
    xp = xp_of(a)
    return xp.flip(xp.cumsum(xp.flip(a, axis=axis), axis=axis), axis=axis)


class CumSum(Function):
    """y_i = sum_{j<=i} x_j along ``dim``;  dL/dx_j = sum_{i>=j} g_i (x_j feeds every later y_i)."""

    parameters = ("dim",)

    def forward(self, x):
        if x.ndim == 0:  # a 0-d tensor is its own running total
            return x.astype(_total_dtype(x) or x.dtype)
        return xp_of(x).cumsum(x, axis=self.dim, dtype=_total_dtype(x))

    def backward(self, grad):
        return (grad.copy() if grad.ndim == 0 else _reverse_cumsum(grad, self.dim),)


class CumProd(Function):
    """y_i = prod_{j<=i} x_j along ``dim``;  dL/dx_k = sum_{i>=k} g_i prod_{j<=i, j!=k} x_j.

    Without zeros the product over j != k is y_i / x_k, so dL/dx_k = (sum_{i>=k} g_i y_i) / x_k.
    Where a row holds a zero that division fails; there the sum is built from the end instead
    (Horner's rule): S_k = g_k + x_{k+1} S_{k+1}, and dL/dx_k = y_{k-1} S_k (y_{-1} = 1).
    """

    parameters = ("dim",)

    def forward(self, x):
        if x.ndim == 0:
            return x.astype(_total_dtype(x) or x.dtype)
        self.out = xp_of(x).cumprod(x, axis=self.dim, dtype=_total_dtype(x))
        return self.out

    def backward(self, grad):
        x = self.inputs[0].data
        if grad.ndim == 0:
            return (grad.copy(),)
        if not (x == 0).any():
            return (_reverse_cumsum(grad * self.out, self.dim) / x,)
        return (self._backward_with_zeros(grad, x),)

    def _backward_with_zeros(self, grad, x):
        xp = xp_of(grad)
        g, x, y = (xp.moveaxis(a, self.dim, 0) for a in (grad, x, self.out))
        total = xp.empty_like(g)  # S_k, the sum from the end
        total[-1] = g[-1]
        for k in range(len(g) - 2, -1, -1):
            total[k] = g[k] + x[k + 1] * total[k + 1]
        before = xp.ones_like(y)  # y_{k-1}: the product of the elements before k
        before[1:] = y[:-1]
        return xp.moveaxis(before * total, 0, self.dim)
