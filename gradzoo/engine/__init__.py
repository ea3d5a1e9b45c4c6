"""The gradzoo engine: tensors with reverse-mode autograd on NumPy (CPU) or CuPy (GPU).

>>> from gradzoo.engine import tensor
>>> w = tensor(2.0, requires_grad=True)
>>> (w * w + 3 * w).backward()
>>> w.grad.item()
7.0
"""

from gradzoo.engine import backend, functional, nn, optim
from gradzoo.engine.autograd_mode import is_grad_enabled, no_grad
from gradzoo.engine.backend import manual_seed
from gradzoo.engine.factories import (
    arange,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from gradzoo.engine.function import Function
from gradzoo.engine.gradcheck import GradcheckError, gradcheck
from gradzoo.engine.tensor import Parameter, Tensor, tensor

F = functional

__all__ = ["Tensor", "tensor", "Parameter", "Function", "no_grad", "is_grad_enabled",
           "functional", "F", "manual_seed", "nn", "optim", "io"]
__all__ += ["gradcheck", "GradcheckError"]

# ---- casts, spellings and factories ----
# dtypes as PyTorch names them: ``x.dtype == gradzoo.engine.float32``, ``x.to(engine.int64)``
# (NumPy dtype objects; the names float, double, half, int, long, bool are in __getattr__)
float32, float64, int32, int64, bool_ = (backend.dtype(name) for name in (
    "float32", "float64", "int32", "int64", "bool"))
_DTYPE_ALIASES = {"float": float32, "double": float64, "int": int32, "long": int64,
                  "bool": bool_}
cat, concat, stack = functional.cat, functional.concat, functional.stack
__all__ += ["float32", "float64", "int32", "int64", "bool_", "cat", "concat", "stack"]
__all__ += ["zeros", "ones", "empty", "full", "arange", "linspace", "eye", "rand", "randn",
            "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like",
            "rand_like", "randn_like", "randint_like"]

# ---- indexing, masks and padding ----
# torch.gather, torch.where, ...: the functions of F under the names torch gives them
(gather, scatter, scatter_add, index_select, index_add, masked_fill, masked_select, nonzero,
 argwhere, tril, triu, where) = (functional.gather, functional.scatter, functional.scatter_add,
                                 functional.index_select, functional.index_add,
                                 functional.masked_fill, functional.masked_select,
                                 functional.nonzero, functional.argwhere, functional.tril,
                                 functional.triu, functional.where)
__all__ += ["gather", "scatter", "scatter_add", "index_select", "index_add", "masked_fill",
            "masked_select", "nonzero", "argwhere", "tril", "triu", "where"]


def __getattr__(name):
    """``engine.io`` (safetensors files) is imported on first use: start-up stays short."""
    if name == "io":
        import importlib

        return importlib.import_module("gradzoo.engine.io")
    if name in _DTYPE_ALIASES:  # engine.float, engine.long, ...: here, so the builtins stay
        return _DTYPE_ALIASES[name]
    raise AttributeError(f"module 'gradzoo.engine' has no attribute {name!r}")
