"""gradzoo: a teaching deep-learning lab.

A small, readable autograd engine (NumPy on the CPU, CuPy on an NVIDIA GPU)
and a zoo of models registered as plugins. The engine's main names are
re-exported here: ``Tensor``, ``tensor``, ``nn``, ``F`` (functional), ``optim``.
"""

__version__ = "0.1.0"


def __getattr__(name):
    """Import the engine only when one of its names is first used (keeps the CLI fast)."""
    if name in ("Tensor", "tensor", "nn", "optim", "functional", "F", "no_grad", "Parameter"):
        from gradzoo import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'gradzoo' has no attribute {name!r}")
