"""The fully connected layer's op, y = x W^T + b, as ONE matrix product on the rows of x.

With x2 the rows of x, shape (n, in), and g2 = dL/dy as (n, out):

    dL/dx = g2 W,   dL/dW = g2^T x2,   dL/db = sum over the rows of g2

``linear_composed`` below is the same function written with the small ops
(MatMul, the transpose, Add); the tests check that the two agree. The fused
``Linear`` is what ``F.linear`` runs, because it is faster in two ways:

* x of shape (batch, length, in) is flattened to (batch * length, in) rows, so
  the product is one large BLAS call, not ``batch`` small ones;
* dL/dW is one product g^T x over all the rows, where the composed version
  computes one (out, in) matrix per batch element and then sums them.
"""

from __future__ import annotations

from gradzoo.engine.backend import sum_first_axis
from gradzoo.engine.function import Function


def check_fits(x_shape, weight_shape) -> None:
    """The input's last dimension must be the weight's in_features."""
    if len(x_shape) == 0 or x_shape[-1] != weight_shape[1]:
        raise RuntimeError(f"linear: input of shape {x_shape} does not fit a weight of shape "
                           f"{weight_shape} (the input's last dimension must be "
                           f"in_features={weight_shape[1]})")


def linear_composed(x, weight, bias=None):
    """The teaching version: ``x @ W.T + b`` with the small ops (MatMul, Permute, Add)."""
    check_fits(x.shape, weight.shape)
    y = x @ weight.T
    return y if bias is None else y + bias


class Linear(Function):
    """y = x W^T + b, for x (..., in), W (out, in), b (out,) (optional); backward above."""

    parameters = ("has_bias",)
    has_bias = False
    composed = staticmethod(linear_composed)

    def forward(self, x, weight, *bias):
        check_fits(x.shape, weight.shape)
        rows = x.reshape(-1, x.shape[-1])
        y = rows @ weight.T
        if self.has_bias:
            y += bias[0]  # in place: y is a fresh array
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        x, weight = self.inputs[0].data, self.inputs[1].data
        g2 = grad.reshape(-1, grad.shape[-1])
        needs = self.needs_input_grad
        grad_x = (g2 @ weight).reshape(x.shape) if needs[0] else None
        grad_weight = g2.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
        if not self.has_bias:
            return grad_x, grad_weight
        grad_bias = sum_first_axis(g2) if needs[2] else None
        return grad_x, grad_weight, grad_bias
