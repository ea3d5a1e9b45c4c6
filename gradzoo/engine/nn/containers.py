"""Containers: ``Sequential`` runs modules one after another, ``ModuleList`` just holds them.

Both register their modules under the names '0', '1', ..., which is why a
parameter of the third block of a model is called ``layers.2.<...>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gradzoo.engine.nn.module import Module


class ModuleList(Module):
    """A list of sub-Modules whose Parameters the parent module can see.

    A plain Python list would hide them from ``parameters()``; a ModuleList
    registers each one. It has no ``forward``: the owner decides how to run them.

    >>> from gradzoo.engine import nn
    >>> blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(blocks), [name for name, _ in blocks.named_parameters()][:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end (registered as ``str(len(self))``)."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int | slice):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        if not -len(items) <= index < len(items):
            raise IndexError(f"index {index} is out of range for a {type(self).__name__} "
                             f"of {len(items)} modules")
        return items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        name = str(range(len(self))[index])  # range() turns -1 into the last index, and checks
        self.add_module(name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules run in order, each on the output of the one before.

    >>> from gradzoo.engine import nn, tensor
    >>> mlp = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> mlp(tensor([[1.0, 2.0, 3.0]])).shape
    (1, 1)
    """

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def __getitem__(self, index: int | slice):
        if isinstance(index, slice):
            return Sequential(*list(self._modules.values())[index])
        return super().__getitem__(index)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x
