"""Test plugins as source text, and the two ways a test installs one without pip.

* ``write_plugin(directory, name, source)``: a ``.py`` file for ``--plugins-dir``.
* ``install_distribution(root, monkeypatch, ...)``: a plugin module plus a
  ``NAME-VERSION.dist-info`` folder (``METADATA``, ``entry_points.txt``) in
  ``root``, which goes first on ``sys.path``; ``importlib.metadata`` finds it
  exactly as it finds a package installed by pip.

The plugins register tiny models and tasks through the real hooks and specs.
"""

from __future__ import annotations

import importlib
import textwrap
import uuid
from pathlib import Path

# Environment switches of the plugin manager; tests start with none of them set.
PLUGIN_ENV = ("GRADZOO_PLUGINS_DIR", "GRADZOO_LOAD_PLUGINS", "GRADZOO_TRACE_PLUGINS",
              "GRADZOO_STRICT_PLUGINS")


def model_plugin(name: str, kinds=("sequence", "language"), summary: str = "a tiny test model"):
    """A plugin registering one model: an embedding table sized by option ``size``."""
    return f'''
        from gradzoo.engine import nn
        from gradzoo.plugins import ModelSpec, Option, hookimpl


        class Tiny(nn.Module):
            def __init__(self, vocab_size, size):
                super().__init__()
                self.table = nn.Embedding(vocab_size, size)


        def build(task, options):
            return Tiny(task.vocab_size, options["size"])


        @hookimpl
        def register_models(register):
            register(ModelSpec(name={name!r}, summary={summary!r}, kinds={tuple(kinds)!r},
                               build=build, options=(Option("size", 4, "table width", min=1),)))
    '''


def task_plugin(name: str, option: str = "width", summary: str = "a test task"):
    """A plugin registering a sequence task (digit reversal) whose length option is ``option``.

    With ``option="width"`` its option shares a name with gpt's ``width``.
    """
    return f'''
        from gradzoo.plugins import Option, TaskSpec, hookimpl
        from gradzoo.zoo.tasks.sequence import make_reverse


        def make(options, seed):
            return make_reverse({{"length": options[{option!r}]}}, seed)


        @hookimpl
        def register_tasks(register):
            register(TaskSpec(name={name!r}, kind="sequence", make=make, summary={summary!r},
                              options=(Option({option!r}, 2, "digits", min=1, max=16),)))
    '''


def command_plugin(command: str, says: str = "hello from a plugin"):
    """A plugin adding one command, ``gradzoo COMMAND``, that prints ``says``."""
    return f'''
        import click
        from gradzoo.plugins import hookimpl


        @hookimpl
        def register_commands(cli):
            @cli.command({command!r})
            def plugin_command():
                """A command added by a test plugin."""
                click.echo({says!r})
    '''


BROKEN_IMPORT = '''
    import gradzoo_test_missing_dependency  # noqa: F401  (not installed anywhere)
'''

HALF_REGISTERED = '''
    from gradzoo.plugins import ModelSpec, TaskSpec, hookimpl


    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="half_task", kind="sequence", summary="rolled back",
                          make=lambda options, seed: None))


    @hookimpl
    def register_models(register):
        register(ModelSpec(name="half_model", kinds=("sequence",), summary="rolled back",
                           build=lambda task, options: None))
        raise RuntimeError("boom while registering")
'''

COMMAND_THEN_FAIL = '''
    from gradzoo.plugins import hookimpl


    @hookimpl
    def register_commands(cli):
        @cli.command("half_command")
        def half_command():
            """Rolled back."""

        raise RuntimeError("boom while adding commands")
'''

NOT_A_SPEC = '''
    from gradzoo.plugins import hookimpl


    @hookimpl
    def register_models(register):
        register({"name": "dict_model"})
'''


def write_plugin(directory: Path, name: str, source: str) -> Path:
    """Write ``NAME.py`` (a plugin) into ``directory``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def install_distribution(root: Path, monkeypatch, source: str, dist: str = "fake_dist",
                         version: str = "0.1", entry: str = "fake_zoo") -> str:
    """An "installed" package with ``[gradzoo] ENTRY = MODULE``; returns the module's name.

    The module name is unique, so no earlier test's module is found in ``sys.modules``.
    """
    module = f"gradzoo_test_plugin_{uuid.uuid4().hex[:12]}"
    write_plugin(root, module, source)
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    name = dist.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[gradzoo]\n{entry} = {module}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return module
