"""The hooks a gradzoo plugin can implement (project name ``"gradzoo"``).

A plugin is any module (or object) with functions marked ``@hookimpl`` whose
names are the hooks below. The built-in zoo is registered through these same
hooks, so a plugin's model sits beside ours with no difference::

    from gradzoo.plugins import ModelSpec, hookimpl

    @hookimpl
    def register_models(register):
        register(ModelSpec(name="bigram", summary="...", kinds=("sequence",), build=build))

Each hook is called once per plugin; what a plugin registers before an error
is rolled back, so a broken plugin never leaves half a model behind.
"""

from __future__ import annotations

import pluggy

from gradzoo.plugins.specs import KINDS

PROJECT_NAME = "gradzoo"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


def _naming_kinds(hook):
    """Write the task kinds (``specs.KINDS``) where a hook's docstring says {kinds}."""
    hook.__doc__ = hook.__doc__.replace("{kinds}", ", ".join(f'"{kind}"' for kind in KINDS))
    return hook


@hookspec
@_naming_kinds
def register_models(register):
    """Register models: call ``register(ModelSpec(...))`` once for each.

    ``ModelSpec`` (from ``gradzoo.plugins``) names the model, says in one line
    what it is, lists the task kinds it can run, from
    {kinds},
    its options with defaults and types, and ``build``, the function that
    makes the model for a task. Names are unique and lowercase:
    if a name is taken, the first plugin keeps it and gradzoo warns.
    """


@hookspec
@_naming_kinds
def register_tasks(register):
    """Register tasks: call ``register(TaskSpec(...))`` once for each.

    ``TaskSpec`` names the task, its kind, one of
    {kinds},
    its options and ``make``, the function that builds the task's data from
    the options and a seed.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``gradzoo`` command line.

    ``cli`` is the click group: decorate functions with ``@cli.command()``.
    A command whose name is already taken is not added (gradzoo warns): a
    plugin never replaces another command.
    """
