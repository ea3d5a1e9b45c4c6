"""Matrix product with batched and broadcast leading dimensions."""

from __future__ import annotations

import math

from gradzoo.engine.function import Function, unbroadcast


class MatMul(Function):
    """C = A @ B;  dL/dA = dL/dC @ B^T,  dL/dB = A^T @ dL/dC.

    Leading (batch) dimensions broadcast as in NumPy; a 1-D operand is treated
    as a row (on the left) or a column (on the right) vector.
    """

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need at least one dimension, got shapes "
                               f"{a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise RuntimeError(f"matmul: shapes {a.shape} and {b.shape} do not fit "
                               f"(the last dimension of the first must equal the "
                               f"{'second-to-last' if b.ndim > 1 else 'only'} dimension of "
                               f"the second)")
        try:
            if a.ndim > 2 and b.ndim == 2:  # a stack of matrices times one matrix: one product
                return (_rows(a) @ b).reshape(a.shape[:-1] + b.shape[-1:])
            return a @ b
        except ValueError:
            raise RuntimeError(f"matmul: the batch dimensions of shapes {a.shape} and {b.shape} "
                               f"do not broadcast") from None

    def backward(self, grad):
        a, b = self.inputs[0].data, self.inputs[1].data
        if a.ndim >= 2 and b.ndim == 2:
            return self._backward_one_right_matrix(grad, a, b)
        # Promote vectors to matrices so one formula covers every case.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = grad.reshape(grad.shape + (1,)) if b.ndim == 1 else grad
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if a.ndim == 1 else g2
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
        return grad_a, grad_b

    def _backward_one_right_matrix(self, grad, a, b):
        """The common case A (..., n, k) @ B (k, m): the rows of A and of G stacked.

        dL/dB = sum over the stack of A_i^T G_i = A2^T G2 (one product over all rows).
        """
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = grad @ b.T if a.ndim == 2 else (_rows(grad) @ b.T).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = _rows(a).T @ _rows(grad)
        return grad_a, grad_b


def _rows(x):
    """A stack of matrices (..., n, k) as one matrix of rows (N, k); also when a size is 0."""
    return x.reshape(math.prod(x.shape[:-1]), x.shape[-1])
