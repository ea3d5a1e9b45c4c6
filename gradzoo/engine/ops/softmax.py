"""softmax and log_softmax along one dimension, each with its analytic backward.

Each op is one fused Function: forward and backward written out with the
formula, computed with as few passes over the array as the formula allows
(in place where an array is ours), and on a real GPU with fused kernels
(``gpu_kernels``). ``softmax_composed`` and ``log_softmax_composed`` below are
the teaching versions, "exp, sum, divide" with the small ops; the tests check
that both ways agree.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
from gradzoo.engine.function import Function
from gradzoo.engine.gpu_kernels import kernels_for


class Softmax(Function):
    """y_i = exp(x_i - m) / sum_j exp(x_j - m), with m = max_j x_j (no overflow).

    Backward (the Jacobian is diag(y) - y y^T):
        dL/dx_i = y_i (g_i - sum_j g_j y_j)
    """

    dim = -1

    def forward(self, x):
        xp, dim = xp_of(x), self.dim
        row_max = x.max(axis=dim, keepdims=True)
        kernels = kernels_for(x)
        if kernels is not None:  # one GPU pass for the sum, one for the output
            total = kernels.sum_exp(x, row_max, axis=dim, keepdims=True)
            self.out = kernels.softmax(x, row_max, total)
            return self.out
        e = x - row_max
        xp.exp(e, out=e)                             # e = exp(x - m), in place
        e /= e.sum(axis=dim, keepdims=True)          # y = e / sum(e)
        self.out = e
        return e

    def backward(self, grad):
        y, dim = self.out, self.dim
        kernels = kernels_for(y)
        if kernels is not None:
            dot = kernels.sum_product(grad, y, axis=dim, keepdims=True)
            return (kernels.softmax_backward(grad, y, dot),)
        gy = grad * y
        dot = gy.sum(axis=dim, keepdims=True)        # sum_j g_j y_j
        xp_of(y).subtract(grad, dot, out=gy)         # g - sum_j g_j y_j
        gy *= y                                      # y * (g - sum_j g_j y_j)
        return (gy,)


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j exp(x_j - m)  (the log-sum-exp trick).

    Backward: dL/dx_i = g_i - softmax(x)_i sum_j g_j,   with softmax(x) = exp(y)
    """

    dim = -1

    def forward(self, x):
        xp, dim = xp_of(x), self.dim
        row_max = x.max(axis=dim, keepdims=True)
        kernels = kernels_for(x)
        if kernels is not None:
            total = kernels.sum_exp(x, row_max, axis=dim, keepdims=True)
            self.out = kernels.log_softmax(x, row_max, total)
            return self.out
        shifted = x - row_max
        e = xp.exp(shifted)
        shifted -= xp.log(e.sum(axis=dim, keepdims=True))  # x - m - log sum exp(x - m)
        self.out = shifted
        return shifted

    def backward(self, grad):
        xp, dim = xp_of(grad), self.dim
        total_grad = grad.sum(axis=dim, keepdims=True)
        kernels = kernels_for(grad)
        if kernels is not None:
            return (kernels.log_softmax_backward(grad, self.out, total_grad),)
        softmax = xp.exp(self.out)
        softmax *= total_grad
        xp.subtract(grad, softmax, out=softmax)     # g - softmax * sum(g)
        return (softmax,)


def softmax_composed(x, dim: int = -1):
    """The teaching version, with the small ops: exp, sum, divide (after subtracting the max).

    The max is a constant for the gradient (it cancels), so it is taken off the graph.
    """
    shifted = x - x.detach().max(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax_composed(x, dim: int = -1):
    """The teaching version: x - m - log(sum(exp(x - m)))."""
    shifted = x - x.detach().max(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()
