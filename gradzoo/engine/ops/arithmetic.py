"""Elementwise arithmetic with NumPy broadcasting: + - * / ** and negation.

Each backward multiplies the output gradient by the local derivative, then
``unbroadcast`` sums it back to the input's shape.
"""

from __future__ import annotations

from gradzoo.engine.backend import xp_of
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
    """z = x / y;  dz/dx = 1 / y, dz/dy = -x / y^2."""

    def forward(self, x, y):
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
    """z = x ** y;  dz/dx = y x^(y-1), dz/dy = x^y ln x (only computed when y needs it)."""

    def forward(self, x, y):
        self.out = x ** y
        return self.out

    def backward(self, grad):
        x, y = self.inputs
        grad_x = grad_y = None
        if self.needs_input_grad[0]:
            grad_x = unbroadcast(grad * y.data * x.data ** (y.data - 1), x.shape)
        if self.needs_input_grad[1]:
            grad_y = unbroadcast(grad * self.out * xp_of(x.data).log(x.data), y.shape)
        return grad_x, grad_y
