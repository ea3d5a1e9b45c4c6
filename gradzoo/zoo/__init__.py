"""The built-in zoo: ``models/`` and ``tasks/``, each registered through the plugin hooks.

Nothing imports this package directly: the plugin manager loads its modules
by name (``gradzoo.plugins.manager.BUILTIN_PLUGINS``), exactly as it loads
anyone's plugin.
"""
