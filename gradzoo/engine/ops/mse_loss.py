"""Mean squared error as one op.

    loss = mean((a - b)^2) over the n elements
    dL/da = 2 (a - b) / n,   dL/db = -dL/da

``a`` and ``b`` must have one shape (no broadcasting: a shape slip would be silent).
"""

from __future__ import annotations

from gradzoo.engine.function import Function


def check_same_shape(a_shape, b_shape) -> None:
    """mse_loss compares element by element: the shapes must be equal."""
    if a_shape != b_shape:
        raise ValueError(f"mse_loss: input shape {a_shape} and target shape {b_shape} differ")


def mse_loss_composed(input, target):
    """mse_loss with the small ops: subtract, square, mean."""
    check_same_shape(input.shape, target.shape)
    diff = input - target
    return (diff * diff).mean()


class MSELoss(Function):
    """loss = mean((a - b)^2), with its two gradients written out (see above)."""

    composed = staticmethod(mse_loss_composed)

    def forward(self, a, b):
        check_same_shape(a.shape, b.shape)
        self.diff = a - b
        return (self.diff * self.diff).mean()

    def backward(self, grad):
        grad_a = self.diff * (2.0 * grad / self.diff.size)
        return grad_a, -grad_a
