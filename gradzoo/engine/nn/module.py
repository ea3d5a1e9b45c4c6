"""``Module``: the base class of every layer and model.

A Module owns Parameters and sub-Modules. Assigning one as an attribute
(``self.proj = Linear(4, 4)``) registers it, in assignment order, so
``named_parameters()`` can walk the tree and name each weight by its path,
``layers.0.self_attn.q_proj.weight``, exactly as PyTorch does. Everything else
(``state_dict``, ``to``, ``train``/``eval``, ``zero_grad``) is built on that walk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gradzoo.engine import backend
from gradzoo.engine.hooks import _call_module, _module_wrappers
from gradzoo.engine.tensor import Parameter, Tensor


class StateDictError(RuntimeError):
    """A state dict does not fit a module: missing or unexpected names, or wrong shapes."""


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match (PyTorch's return value)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """A layer or a model: holds Parameters and sub-Modules, and computes ``forward``.

    >>> from gradzoo.engine import nn
    >>> class TwoLayers(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(3, 4)
    ...         self.out = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> [name for name, _ in TwoLayers().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    def __init__(self):
        # object.__setattr__: these three dicts must exist before __setattr__ can use them.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_non_persistent_buffers", set())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        """``module(x)`` runs ``forward(x)`` (through the wrappers of ``hooks.module_called``)."""
        if _module_wrappers:  # a tool watches the module calls
            return _call_module(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration

    def __setattr__(self, name: str, value) -> None:
        """Register Parameters and Modules by attribute assignment; other values are plain."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start of "
                                 f"__init__, before assigning self.{name}")
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in self._parameters and value is not None:
            raise TypeError(f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                            f"{type(self).__name__}: wrap it in nn.Parameter (or assign None)")
        elif name in self._buffers:
            self._buffers[name] = value
        else:
            self._forget(name)
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        """Called only when normal lookup fails: look in the registered dicts."""
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__:
            object.__delattr__(self, name)
        elif not self._forget(name):
            raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def _forget(self, name: str, keep=None) -> bool:
        """Remove ``name`` from the registries (except ``keep``); True if it was there."""
        found = False
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry and registry is not keep:
                del registry[name]
                found = True
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)
        return found

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter (or None, for an absent optional one such as a bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}'): expected nn.Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name, keep=self._parameters)  # re-assigning keeps the original position
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor, persistent: bool = True) -> None:
        """Register a Tensor that is state but not learned (e.g. a positional-encoding table).

        Buffers move with ``to(device)``; persistent ones are saved in ``state_dict()``.
        """
        if not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer('{name}'): expected a Tensor, got "
                            f"{type(tensor).__name__}")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-Module under ``name`` (containers use names '0', '1', ...)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}'): expected a Module, got {type(module).__name__}")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    # ------------------------------------------------------------------ walking the tree

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-Modules with their attribute names, in assignment order."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(_join(name, child_name), child)
                     for child_name, child in module.named_children()]
            stack.extend(reversed(below))  # reversed: the first child comes off the stack first

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every Parameter with its dotted path, in assignment order; a shared one appears once."""
        seen: set[int] = set()
        for name, tensor in self._named_tensors("_parameters"):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    def parameters(self) -> Iterator[Parameter]:
        """Every Parameter (what an optimizer updates)."""
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_tensors("_buffers")

    def buffers(self) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers():
            yield buffer

    def _named_tensors(self, registry: str) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) for one registry of every module, shared ones repeated."""
        for module_name, module in self._all_named_modules():
            for name, tensor in getattr(module, registry).items():
                if tensor is not None:
                    yield _join(module_name, name), tensor

    def _all_named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Like named_modules, but a module reachable by two paths is listed under both."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child._all_named_modules(_join(prefix, name))

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Tensor]:
        """A snapshot of every Parameter and persistent buffer: dotted name -> Tensor copy.

        Copies, so that training on afterwards does not change a dict you kept.
        A weight shared by two modules is listed under both names, as in PyTorch.
        """
        state = {}
        for name, tensor in self._state_items():
            state[name] = Tensor._make(tensor.data.copy(), False, None)
        return state

    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(name, live tensor) of everything ``state_dict`` saves."""
        yield from self._named_tensors("_parameters")
        for module_name, module in self._all_named_modules():
            for name, tensor in module._buffers.items():
                if tensor is not None and name not in module._non_persistent_buffers:
                    yield _join(module_name, name), tensor

    def load_state_dict(self, state: dict, strict: bool = True) -> LoadResult:
        """Copy values from ``state`` (name -> Tensor) into this module's tensors, in place.

        Raises StateDictError naming every missing and unexpected key (when
        ``strict``) and every shape that differs (always). Values are converted
        to each tensor's dtype and device; the Parameter objects stay the same,
        so an optimizer that holds them keeps working.
        """
        own = dict(self._state_items())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = _shape_problems(own, state)
        if strict:
            problems = _key_problems(missing, unexpected, list(own)) + problems
        if problems:
            raise StateDictError(f"cannot load the state dict into {type(self).__name__}:\n  "
                                 + "\n  ".join(problems))
        for name, tensor in own.items():
            if name in state:
                value = state[name].data if isinstance(state[name], Tensor) else state[name]
                tensor.data[...] = backend.to_device(value, tensor.device)
        return LoadResult(missing, unexpected)

    # ------------------------------------------------------------------ mode, device, grads

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all below it to training mode (dropout active)."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off): the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every Parameter (set them to None, as PyTorch does)."""
        for param in self.parameters():
            param.grad = None

    def to(self, target: str) -> Module:
        """Move every Parameter and buffer to a device ('cpu', 'gpu', 'auto'), or convert
        floating ones to a dtype ('float64' for gradcheck). In place: the Parameter
        objects stay the same, only their ``.data`` (and ``.grad``) are replaced."""
        convert = _converter(target)
        for _, tensor in self._all_tensors():
            tensor.data = convert(tensor.data)
            if tensor.grad is not None:
                tensor.grad = Tensor._make(convert(tensor.grad.data), False, None)
        return self

    def _all_tensors(self) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        for name, tensor in [*self._named_tensors("_parameters"), *self.named_buffers()]:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    # ------------------------------------------------------------------ printing

    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of ``repr`` (layers override it)."""
        return ""

    def __repr__(self) -> str:
        """``Name(args)`` for a layer; a model lists its children indented, like PyTorch."""
        extra = self.extra_repr()
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({extra})"
        lines = [extra] + lines if extra else lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


# ---------------------------------------------------------------------- helpers


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _key_problems(missing: list[str], unexpected: list[str], expected: list[str]) -> list[str]:
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)} "
                        f"(the module has: {', '.join(expected)})")
    return problems


def _shape_problems(own: dict, state: dict) -> list[str]:
    return [f"shape mismatch for '{name}': the module has {tensor.shape}, "
            f"the state dict has {tuple(state[name].shape)}"
            for name, tensor in own.items()
            if name in state and tuple(state[name].shape) != tensor.shape]


def _converter(target: str):
    """A function that moves an array to a device, or casts a floating array to a dtype."""
    if target in backend.DEVICE_CHOICES:
        device = backend.check_device(target)
        return lambda array: backend.to_device(array, device)
    try:
        dtype = backend.dtype(target)
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or not backend.is_floating(dtype):
        raise ValueError(f"to({target!r}): modules convert to floating dtypes only "
                         f"(e.g. 'float64'), or move to a device ({', '.join(backend.DEVICES)})")
    return lambda array: array.astype(dtype) if backend.is_floating(array.dtype) else array
