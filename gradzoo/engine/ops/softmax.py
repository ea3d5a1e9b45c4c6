"""softmax and log_softmax along one dimension, each with its analytic backward.

    softmax:      y_i = exp(x_i - m) / sum_j exp(x_j - m),   m = max_j x_j (no overflow)
                  dL/dx_i = y_i (g_i - sum_j g_j y_j)        (the Jacobian is diag(y) - y y^T)
    log_softmax:  y_i = x_i - m - log sum_j exp(x_j - m)     (the log-sum-exp trick)
                  dL/dx_i = g_i - softmax(x)_i sum_j g_j,    softmax(x) = exp(y)

The composed versions come first: "exp, sum, divide" with the small ops, which
the engine differentiates by itself. Then the fused ops, the same formulas
written out on arrays with their backward, in as few passes as the formula
allows (in place where an array is ours); on a real GPU ``gpu_kernels``
replaces those array functions by CUDA kernels. The tests check both agree.
"""

from __future__ import annotations

from gradzoo.engine.backend import overridable, xp_of
from gradzoo.engine.function import Function


def softmax_composed(x, dim: int = -1):
    """softmax with the small ops: exp, sum, divide (after subtracting the max).

    The max is a constant for the gradient (it cancels), so it is taken off the graph.
    """
    shifted = x - x.detach().amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax_composed(x, dim: int = -1):
    """log_softmax with the small ops: x - m - log(sum(exp(x - m)))."""
    shifted = x - x.detach().amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


@overridable
def softmax_forward(x, dim: int):
    """y = exp(x - m) / sum(exp(x - m)) along ``dim``."""
    e = x - x.max(axis=dim, keepdims=True)
    xp_of(x).exp(e, out=e)                       # e = exp(x - m), in place
    e /= e.sum(axis=dim, keepdims=True)          # y = e / sum(e)
    return e


@overridable
def softmax_backward(grad, y, dim: int):
    """dL/dx = y (g - sum_j g_j y_j) along ``dim``."""
    gy = grad * y
    dot = gy.sum(axis=dim, keepdims=True)        # sum_j g_j y_j
    xp_of(y).subtract(grad, dot, out=gy)         # g - sum_j g_j y_j
    gy *= y                                      # y * (g - sum_j g_j y_j)
    return gy


@overridable
def log_softmax_forward(x, dim: int):
    """y = x - m - log sum(exp(x - m)) along ``dim``."""
    xp = xp_of(x)
    shifted = x - x.max(axis=dim, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted


@overridable
def log_softmax_backward(grad, y, dim: int):
    """dL/dx = g - exp(y) sum_j g_j along ``dim``."""
    xp = xp_of(grad)
    softmax = xp.exp(y)
    softmax *= grad.sum(axis=dim, keepdims=True)
    xp.subtract(grad, softmax, out=softmax)      # g - softmax * sum(g)
    return softmax


class Softmax(Function):
    """y = softmax(x) along ``dim``; backward dL/dx = y (g - sum_j g_j y_j)."""

    parameters = ("dim",)
    dim = -1
    composed = staticmethod(softmax_composed)

    def forward(self, x):
        self.out = softmax_forward(x, self.dim)
        return self.out

    def backward(self, grad):
        return (softmax_backward(grad, self.out, self.dim),)


class LogSoftmax(Function):
    """y = log_softmax(x) along ``dim``; backward dL/dx = g - exp(y) sum_j g_j."""

    parameters = ("dim",)
    dim = -1
    composed = staticmethod(log_softmax_composed)

    def forward(self, x):
        self.out = log_softmax_forward(x, self.dim)
        return self.out

    def backward(self, grad):
        return (log_softmax_backward(grad, self.out, self.dim),)
