"""Elementwise arithmetic with NumPy broadcasting: + - * / ** // % and negation.

Each backward multiplies the output gradient by the local derivative, then
``unbroadcast`` sums it back to the input's shape.
"""

from __future__ import annotations

from gradzoo.engine.backend import float32, is_floating, xp_of
from gradzoo.engine.function import Function, unbroadcast


class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        x, y = self.inputs
        return unbroadcast(grad, x.shape), unbroadcast(grad, y.shape)


class Sub(Function):
    """z = x - y;  dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        x, y = self.inputs
        return unbroadcast(grad, x.shape), unbroadcast(-grad, y.shape)


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    def forward(self, x, y):
        return x * y

    def backward(self, grad):
        x, y = self.inputs
        grad_x = unbroadcast(grad * y.data, x.shape) if self.needs_input_grad[0] else None
        grad_y = unbroadcast(grad * x.data, y.shape) if self.needs_input_grad[1] else None
        return grad_x, grad_y


class Div(Function):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -x / y^2.

    True division: integers divided are float32 (PyTorch's default float dtype).
    """

    def forward(self, x, y):
        if not is_floating(x.dtype):  # (both have one dtype here: Function.apply saw to it)
            x, y = x.astype(float32), y.astype(float32)
        return x / y

    def backward(self, grad):
        x, y = self.inputs
        grad_x = grad / y.data
        grad_y = None
        if self.needs_input_grad[1]:
            grad_y = unbroadcast(-grad_x * x.data / y.data, y.shape)
        return unbroadcast(grad_x, x.shape), grad_y


class Neg(Function):
    """z = -x;  dz/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Pow(Function):
    """z = x ** y;  dz/dx = y x^(y-1), dz/dy = x^y ln x (only computed when y needs it).

    As in PyTorch, dz/dx = 0 where y = 0 (also at x = 0, where 0 * 0^-1 is nan), and
    dz/dy = 0 where x = 0 and y >= 0 (where 0 * ln 0 is nan).
    """

    def forward(self, x, y):
        self.out = x ** y
        return self.out

    def backward(self, grad):
        x, y = self.inputs
        grad_x = grad_y = None
        if self.needs_input_grad[0]:
            x_data, y_data = x.data, y.data  # y x^(y-1), with x^0 where y = 0: exactly 0 there
            grad_x = unbroadcast(grad * y_data * x_data ** (y_data - (y_data != 0)), x.shape)
        if self.needs_input_grad[1]:
            xp = xp_of(x.data)
            with xp.errstate(divide="ignore", invalid="ignore"):  # ln 0: replaced just below
                slope = self.out * xp.log(x.data)
            slope = xp.where((x.data == 0) & (y.data >= 0), xp.zeros((), slope.dtype), slope)
            grad_y = unbroadcast(grad * slope, y.shape)
        return grad_x, grad_y


# ---------------------------------------------------------------------- floor division, remainder


def _check_integer_divisor(y, symbol: str) -> None:
    """Integer division by zero has no answer: an error, as PyTorch's (floats give inf, nan)."""
    if not is_floating(y.dtype) and bool((y == 0).any()):
        raise RuntimeError(f"ZeroDivisionError: integer {symbol} by zero")


class FloorDivide(Function):
    """z = floor(x / y) (``//``, rounding toward -inf: -7 // 2 == -4, as PyTorch and Python).

    PyTorch defines no derivative for it: the output of float inputs that need a
    gradient records the op, and backward through it raises, as PyTorch's does.
    """

    def forward(self, x, y):
        _check_integer_divisor(y, "floor division (//)")
        return xp_of(x).floor_divide(x, y)

    def backward(self, grad):
        raise RuntimeError("derivative for floor_divide is not implemented (as in PyTorch): "
                           "the gradient of x // y is 0 almost everywhere; detach() the "
                           "operands, or use x / y for a differentiable division")


class Remainder(Function):
    """z = x - floor(x / y) y (``%``, with the sign of the divisor: -7 % 3 == 2, as PyTorch);
    dz/dx = 1, dz/dy = -floor(x / y)."""

    def forward(self, x, y):
        _check_integer_divisor(y, "remainder (%)")
        return xp_of(x).remainder(x, y)

    def backward(self, grad):
        x, y = self.inputs
        grad_x = unbroadcast(grad, x.shape) if self.needs_input_grad[0] else None
        grad_y = None
        if self.needs_input_grad[1]:
            grad_y = unbroadcast(-grad * xp_of(grad).floor_divide(x.data, y.data), y.shape)
        return grad_x, grad_y
