"""The gradzoo engine: tensors with reverse-mode autograd on NumPy (CPU) or CuPy (GPU).

>>> from gradzoo.engine import tensor
>>> w = tensor(2.0, requires_grad=True)
>>> (w * w + 3 * w).backward()
>>> w.grad.item()
7.0
"""

from gradzoo.engine import functional, nn, optim
from gradzoo.engine.autograd_mode import is_grad_enabled, no_grad
from gradzoo.engine.backend import manual_seed
from gradzoo.engine.function import Function
from gradzoo.engine.gradcheck import GradcheckError, gradcheck
from gradzoo.engine.tensor import Parameter, Tensor, tensor

F = functional

__all__ = ["Tensor", "tensor", "Parameter", "Function", "no_grad", "is_grad_enabled",
           "functional", "F", "manual_seed", "nn", "optim", "io"]
__all__ += ["gradcheck", "GradcheckError"]


def __getattr__(name):
    """``engine.io`` (safetensors files) is imported on first use: start-up stays short."""
    if name == "io":
        import importlib

        return importlib.import_module("gradzoo.engine.io")
    raise AttributeError(f"module 'gradzoo.engine' has no attribute {name!r}")
