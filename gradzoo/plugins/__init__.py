"""gradzoo's plugin system (pluggy): hooks, specs, and the manager that loads plugins.

A plugin author needs three names::

    from gradzoo.plugins import hookimpl, ModelSpec, TaskSpec

See ``hookspecs.py`` for the hooks and ``specs.py`` for the spec fields;
``testing.py`` is the conformance kit a plugin's tests run, and ``scaffold.py``
writes a new plugin package (``gradzoo new-plugin``).
"""

from gradzoo.plugins.hookspecs import hookimpl, hookspec
from gradzoo.plugins.specs import KINDS, ModelSpec, Option, SpecError, TaskSpec

__all__ = ["hookimpl", "hookspec", "ModelSpec", "TaskSpec", "Option", "SpecError", "KINDS"]
