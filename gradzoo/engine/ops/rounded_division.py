"""Division rounded to an integer value: ``x.div(y, rounding_mode="floor" | "trunc")``.

The result is a step function of x and y, flat between its jumps, so its gradient is
zero for both operands (PyTorch gives zeros too; its ``x // y`` instead refuses a
backward, see ``ops.FloorDivide``).
"""

from __future__ import annotations

from gradzoo.engine.backend import is_floating, xp_of
from gradzoo.engine.function import Function


class RoundedDivide(Function):
    """z = floor(x / y) (``rounding_mode="floor"``, toward -inf: -7 / 2 -> -4) or
    trunc(x / y) (``"trunc"``, toward zero: -7 / 2 -> -3);  dz/dx = dz/dy = 0."""

    parameters = ("rounding_mode",)

    def forward(self, x, y):
        xp = xp_of(x)
        if not is_floating(x.dtype) and bool((y == 0).any()):
            raise RuntimeError("ZeroDivisionError: integer division by zero")
        floor = xp.floor_divide(x, y)  # Python's rule for floats too (the same as PyTorch's)
        if self.rounding_mode == "floor":
            return floor
        if is_floating(floor.dtype):
            return xp.trunc(x / y)
        # integers: floor, plus one where the quotient is negative and not exact
        return floor + ((floor * y != x) & ((x < 0) != (y < 0))).astype(floor.dtype)

    def backward(self, grad):
        xp = xp_of(grad)
        return tuple(xp.zeros(t.shape, dtype=t.dtype) for t in self.inputs)
