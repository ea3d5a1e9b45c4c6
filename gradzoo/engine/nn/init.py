"""Initial values for Parameters, named as in ``torch.nn.init``.

Random numbers come from ``backend.host_rng()`` (seeded by ``manual_seed``) and
are drawn on the host, then sent to the tensor's device: the same seed gives
the same weights on the CPU and on the GPU. Each function replaces
``tensor.data`` in place (the trailing ``_`` says so) and returns the tensor.
"""

from __future__ import annotations

from gradzoo.engine import backend
from gradzoo.engine.tensor import Parameter, Tensor


def _fill(tensor: Tensor, host_values) -> Tensor:
    """Put host values (any float dtype) into ``tensor`` with its dtype and device."""
    tensor.data = backend.make_array(host_values, tensor.dtype, tensor.device)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with numbers drawn uniformly from [a, b)."""
    return _fill(tensor, backend.host_rng().uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with numbers drawn from the normal distribution N(mean, std^2)."""
    return _fill(tensor, backend.host_rng().normal(mean, std, size=tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with one value."""
    xp = backend.xp_of(tensor.data)
    tensor.data = xp.full(tensor.shape, value, dtype=tensor.dtype)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def new_parameter(*shape: int, device: str | None = None) -> Parameter:
    """A float32 Parameter of ``shape`` filled with zeros, ready for an init function."""
    device = backend.default_device() if device is None else backend.check_device(device)
    zeros = backend.array_module(device).zeros(shape, dtype=backend.float32)
    return Parameter(zeros, device=device)
