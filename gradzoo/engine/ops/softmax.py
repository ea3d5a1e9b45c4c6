"""softmax and log_softmax along one dimension, each with its analytic backward."""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), with m = max_j x_j (no overflow).

    Backward (the Jacobian is diag(y) - y y^T):
        dL/dx_i = y_i (g_i - sum_j g_j y_j)
    """

    dim = -1

    def forward(self, x):
        xp = xp_of(x)
        e = xp.exp(x - x.max(axis=self.dim, keepdims=True))
        self.out = e / e.sum(axis=self.dim, keepdims=True)
        return self.out

    def backward(self, grad):
        y = self.out
        return (y * (grad - (grad * y).sum(axis=self.dim, keepdims=True)),)


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j exp(x_j - m)  (the log-sum-exp trick).

    Backward: dL/dx_i = g_i - softmax(x)_i sum_j g_j
    """

    dim = -1

    def forward(self, x):
        xp = xp_of(x)
        shifted = x - x.max(axis=self.dim, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.dim, keepdims=True))
        return self.out

    def backward(self, grad):
        softmax = xp_of(grad).exp(self.out)
        return (grad - softmax * grad.sum(axis=self.dim, keepdims=True),)
