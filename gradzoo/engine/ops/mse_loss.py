"""Mean squared error as one op.

    l = (a - b)^2 element by element;   reduction "mean": sum(l) / n, "sum": sum(l), "none": l
    dL/da = 2 (a - b) g (/ n for "mean"),   dL/db = -dL/da

``a`` and ``b`` must have one shape: PyTorch broadcasts them with a warning that the
result is "likely incorrect"; gradzoo refuses, as a shape slip would be silent.
"""

from __future__ import annotations

from gradzoo.engine.function import Function


class LossShapeError(ValueError, RuntimeError):
    """Input and target shapes differ (PyTorch's broadcasting error is a RuntimeError)."""


def check_same_shape(a_shape, b_shape, loss: str = "mse_loss") -> None:
    """An elementwise loss compares element by element: the shapes must be equal."""
    if tuple(a_shape) != tuple(b_shape):
        raise LossShapeError(f"{loss}: input shape {tuple(a_shape)} and target shape "
                             f"{tuple(b_shape)} differ; PyTorch would broadcast them (and warn "
                             f"that the result is likely wrong): reshape one to the other")


def mse_loss_composed(input, target, reduction: str = "mean"):
    """mse_loss with the small ops: subtract, square, then mean, sum or nothing."""
    check_same_shape(input.shape, target.shape)
    diff = input - target
    squared = diff * diff
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()


class MSELoss(Function):
    """loss = (a - b)^2 reduced by ``reduction``, with its two gradients written out (see above)."""

    parameters = ("reduction",)
    reduction = "mean"
    composed = staticmethod(mse_loss_composed)

    def forward(self, a, b):
        check_same_shape(a.shape, b.shape)
        self.diff = a - b
        squared = self.diff * self.diff
        if self.reduction == "none":
            return squared
        return squared.sum() if self.reduction == "sum" else squared.mean()

    def backward(self, grad):
        scale = 2.0 * grad / self.diff.size if self.reduction == "mean" else 2.0 * grad
        grad_a = self.diff * scale
        return grad_a, -grad_a
