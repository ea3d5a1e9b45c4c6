"""Finding and loading plugins, and the registry of what they registered.

Plugins come from three places, in this order (earlier ones win a name):

1. the built-in zoo, found by module name (``BUILTIN_PLUGINS``), exactly as
   anyone's plugin is found;
2. installed packages with an entry point in the group ``gradzoo``;
3. the ``.py`` files of a directory (``--plugins-dir DIR`` or ``GRADZOO_PLUGINS_DIR``).

(and last, plugins given by code with ``add_plugin``: ``testing.temporary_plugin`` uses it.)

Environment switches: ``GRADZOO_LOAD_PLUGINS=a,b`` loads only those plugins
(empty: none but the built-ins); ``GRADZOO_TRACE_PLUGINS=1`` prints every
hook call on stderr; ``GRADZOO_STRICT_PLUGINS=1`` turns a failing plugin or a
duplicate name into an error instead of a warning.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from gradzoo.plugins import hookspecs
from gradzoo.plugins.specs import ModelSpec, SpecError, TaskSpec, did_you_mean

ENTRY_POINT_GROUP = "gradzoo"

# The task a model of each kind is shown on when it names none (``Registry.example_task``).
USUAL_TASKS = {"sequence": "copy", "language": "chars", "generative": "moons",
               "paired": "captions", "classification": "shape_classes"}

# The built-in zoo: module names, loaded the same way as any plugin.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "gradzoo.zoo.tasks.sequence",
    "gradzoo.zoo.tasks.language",
    "gradzoo.zoo.models.rnn",
    "gradzoo.zoo.models.lstm",
    "gradzoo.zoo.models.gru",
    "gradzoo.zoo.models.transformer",
    "gradzoo.zoo.models.gpt",
    "gradzoo.zoo.tasks.cloze",
    "gradzoo.zoo.models.bert",
    "gradzoo.zoo.tasks.points",
    "gradzoo.zoo.tasks.images",
    "gradzoo.zoo.models.vae",
    "gradzoo.zoo.models.diffusion",
    "gradzoo.zoo.models.gan",
    "gradzoo.zoo.models.flow",
    "gradzoo.zoo.tasks.captions",
    "gradzoo.zoo.models.clip",
    "gradzoo.zoo.tasks.classes",
    "gradzoo.zoo.tasks.doc_topics",
    "gradzoo.zoo.models.cnn",
    "gradzoo.zoo.models.mlp",
)


class PluginError(RuntimeError):
    """A plugin failed in strict mode (GRADZOO_STRICT_PLUGINS=1)."""


@dataclass
class PluginRecord:
    """One plugin: where it came from, what it registered, and whether it failed."""

    name: str
    source: str  # "built-in", "package NAME VERSION", or "file PATH"
    models: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class Registry:
    """Everything the plugins registered: models, tasks, and a record per plugin."""

    models: dict[str, ModelSpec] = field(default_factory=dict)
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin
    plugins: dict[str, PluginRecord] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def model(self, name: str) -> ModelSpec:
        """The model called ``name``; a KeyError says which names exist."""
        return _lookup(self.models, name, "model")

    def task(self, name: str) -> TaskSpec:
        """The task called ``name``; a KeyError says which names exist."""
        return _lookup(self.tasks, name, "task")

    def plugin_of(self, kind: str, name: str) -> str:
        return self.owner[(kind, name)]

    def example_task(self, spec: ModelSpec, kind: str | None = None) -> str | None:
        """The task ``spec``'s model is shown on (list, graph, the kit, the scaffold), or None.

        Its own ``example_task`` (for ``kind``, when it names one per kind) when
        registered and of a kind it runs (of ``kind``, when given), else the usual task
        of the kind (``USUAL_TASKS``; the model's first kind when ``kind`` is None),
        else the first registered task of that kind.
        """
        if kind is not None and kind not in spec.kinds:
            raise ValueError(f"model '{spec.name}' runs {', '.join(spec.kinds)} tasks, "
                             f"not {kind} tasks")
        own = self.tasks.get(spec.example_task_for(kind))
        if own is not None and own.kind in ((kind,) if kind else spec.kinds):
            return own.name
        kind = kind or spec.kinds[0]
        usual = self.tasks.get(USUAL_TASKS.get(kind, ""))
        if usual is not None and usual.kind == kind:
            return usual.name
        return next((name for name, task in self.tasks.items() if task.kind == kind), None)


class UnknownNameError(KeyError):
    """A model or task name that no plugin registered."""

    def __str__(self) -> str:
        return self.args[0]


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise UnknownNameError(f"unknown {what} '{name}'{did_you_mean(name, table)}; "
                               f"known {what}s: {known}")
    return table[name]


# ---------------------------------------------------------------------- discovery


@dataclass
class _Candidate:
    name: str
    source: str
    load: Callable[[], object]
    added: bool = False  # added by code (``add_plugin``), e.g. for one test


def _builtin_candidates() -> list[_Candidate]:
    return [_Candidate(name, "built-in", lambda n=name: importlib.import_module(n))
            for name in BUILTIN_PLUGINS]


def _entry_point_candidates() -> list[_Candidate]:
    found = []
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                        key=lambda e: e.name):
        dist = getattr(entry, "dist", None)
        source = f"package {dist.name} {dist.version}" if dist else f"package {entry.value}"
        found.append(_Candidate(entry.name, source, entry.load))
    return found


def _directory_candidates(directory: str | os.PathLike | None) -> list[_Candidate]:
    if not directory:
        return []
    path = Path(directory)
    if not path.is_dir():
        raise PluginError(f"plugins directory {str(path)!r} does not exist or is not a directory")
    return [_Candidate(file.stem, f"file {file}", lambda f=file: _import_file(f))
            for file in sorted(path.glob("*.py")) if not file.name.startswith("_")]


# Plugins added by code for a while (``gradzoo.plugins.testing.temporary_plugin``): name -> object.
_added_plugins: dict[str, object] = {}


def add_plugin(name: str, plugin: object) -> None:
    """Load ``plugin`` (a module or an object with ``@hookimpl`` functions) too, as ``name``.

    Added plugins load after every other plugin, so they never take a name from one.
    """
    if name in _added_plugins:
        raise PluginError(f"a plugin called '{name}' has already been added")
    _added_plugins[name] = plugin
    reset_registry()


def remove_plugin(name: str) -> None:
    """Stop loading a plugin given to ``add_plugin`` (the next registry is built without it)."""
    _added_plugins.pop(name, None)
    reset_registry()


def _added_candidates() -> list[_Candidate]:
    return [_Candidate(name, "added by code", lambda p=plugin: p, added=True)
            for name, plugin in _added_plugins.items()]


def _import_file(file: Path):
    """Import a plugin from a ``.py`` file that is not part of any package."""
    module_name = f"gradzoo_plugin_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


# ---------------------------------------------------------------------- loading


class PluginLoader:
    """Loads every plugin into a pluggy manager and fills a ``Registry``, one plugin at a time.

    Each plugin's hooks run on their own (``subset_hook_caller``), so a plugin
    that raises is rolled back alone: its half-registered names are removed,
    a single warning names it and the error, and the others carry on.
    """

    def __init__(self, plugins_dir=None, environ=None, warn: Callable[[str], None] | None = None):
        environ = os.environ if environ is None else environ
        self.plugins_dir = plugins_dir or environ.get("GRADZOO_PLUGINS_DIR") or None
        self.only = _parse_only(environ.get("GRADZOO_LOAD_PLUGINS"))
        self.strict = environ.get("GRADZOO_STRICT_PLUGINS", "") not in ("", "0")
        self.trace = environ.get("GRADZOO_TRACE_PLUGINS", "") not in ("", "0")
        self.warn = warn or (lambda message: print(f"gradzoo: warning: {message}", file=sys.stderr))
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.registry = Registry()
        if self.trace:
            self.manager.add_hookcall_monitoring(_trace_before, _trace_after)

    def candidates(self) -> list[_Candidate]:
        found = _builtin_candidates()
        external = _entry_point_candidates() + _directory_candidates(self.plugins_dir)
        if self.only is not None:
            external = [c for c in external if c.name in self.only]
        return found + external + _added_candidates()

    def load(self, cli=None) -> Registry:
        """Import and register every plugin; with ``cli``, let them add commands too."""
        for candidate in self.candidates():
            self._load_one(candidate, cli)
        return self.registry

    def _load_one(self, candidate: _Candidate, cli) -> None:
        if candidate.added and self.manager.is_registered(candidate.load()):
            return  # added by code, but already loaded (built-in or installed): nothing to add
        record = PluginRecord(candidate.name, candidate.source)
        if candidate.name in self.registry.plugins:
            self._problem(f"plugin '{candidate.name}' from {candidate.source} skipped: a plugin "
                          f"of that name is already loaded from "
                          f"{self.registry.plugins[candidate.name].source}")
            return
        self.registry.plugins[candidate.name] = record
        try:
            plugin = candidate.load()
            self.manager.register(plugin, name=candidate.name)
            self._run_hooks(candidate.name, record, cli)
        except PluginError:  # strict mode: already the error to report, as it is
            self._roll_back(record, cli)
            raise
        except Exception as error:  # a plugin's own bug must not take the CLI down
            self._roll_back(record, cli)
            record.error = f"{type(error).__name__}: {error}"
            if candidate.name in {n for n, _ in self.manager.list_name_plugin()}:
                self.manager.unregister(name=candidate.name)
            self._problem(f"plugin '{candidate.name}' ({candidate.source}) failed and was "
                          f"skipped: {record.error}")

    def _run_hooks(self, name: str, record: PluginRecord, cli) -> None:
        others = [p for n, p in self.manager.list_name_plugin() if n != name]
        call = self.manager.subset_hook_caller
        call("register_tasks", others)(register=lambda spec: self._add(spec, record, "task"))
        call("register_models", others)(register=lambda spec: self._add(spec, record, "model"))
        if cli is not None:
            before = set(cli.commands)
            try:
                call("register_commands", others)(cli=_GuardedGroup(cli, record, self))
            finally:
                record.commands += sorted(set(cli.commands) - before)

    def _add(self, spec, record: PluginRecord, kind: str) -> None:
        expected = TaskSpec if kind == "task" else ModelSpec
        if not isinstance(spec, expected):
            raise SpecError(f"register() for {kind}s needs a {expected.__name__}, "
                            f"got {type(spec).__name__}")
        table = self.registry.tasks if kind == "task" else self.registry.models
        if spec.name in table:
            holder = self.registry.owner[(kind, spec.name)]
            self._problem(f"{kind} '{spec.name}' from plugin '{record.name}' ignored: "
                          f"plugin '{holder}' already registered it")
            return
        table[spec.name] = spec
        self.registry.owner[(kind, spec.name)] = record.name
        (record.tasks if kind == "task" else record.models).append(spec.name)

    def _roll_back(self, record: PluginRecord, cli) -> None:
        for name in record.tasks:
            self.registry.tasks.pop(name, None)
            self.registry.owner.pop(("task", name), None)
        for name in record.models:
            self.registry.models.pop(name, None)
            self.registry.owner.pop(("model", name), None)
        if cli is not None:
            for name in record.commands:
                cli.commands.pop(name, None)
        record.tasks, record.models, record.commands = [], [], []

    def _problem(self, message: str) -> None:
        self.registry.warnings.append(message)
        if self.strict:
            raise PluginError(message + " (GRADZOO_STRICT_PLUGINS is set)")
        self.warn(message)


class _GuardedGroup:
    """The click group as a plugin sees it: adding a command never replaces another one."""

    def __init__(self, group, record: PluginRecord, loader: PluginLoader):
        self._group, self._record, self._loader = group, record, loader

    def add_command(self, command, name=None):
        name = name or command.name
        if name in self._group.commands:
            self._loader._problem(f"command '{name}' from plugin '{self._record.name}' ignored: "
                                  f"a command of that name already exists")
            return
        self._group.add_command(command, name)

    def command(self, *args, **kwargs):
        """``@cli.command(...)`` or bare ``@cli.command``, as on a click group."""
        import click

        return self._decorate(click.command, args, kwargs)

    def group(self, *args, **kwargs):
        """``@cli.group(...)``: a sub-group, added under the same rule as a command."""
        import click

        return self._decorate(click.group, args, kwargs)

    def _decorate(self, make, args, kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:  # used bare: @cli.command
            command = make(args[0])
            self.add_command(command)
            return command

        def decorator(function):
            command = make(*args, **kwargs)(function)
            self.add_command(command)
            return command
        return decorator

    def __getattr__(self, attribute):
        return getattr(self._group, attribute)


def _parse_only(value: str | None):
    """``GRADZOO_LOAD_PLUGINS``: None when unset, else the set of names (empty: none)."""
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _trace_before(hook_name, hook_impls, kwargs):
    plugins = ", ".join(impl.plugin_name for impl in hook_impls) or "(no plugin)"
    print(f"gradzoo: trace: calling {hook_name} on {plugins}", file=sys.stderr)


def _trace_after(outcome, hook_name, hook_impls, kwargs):
    plugins = ", ".join(impl.plugin_name for impl in hook_impls) or "(no plugin)"
    failed = outcome.exception
    status = f"raised {type(failed).__name__}: {failed}" if failed else "done"
    print(f"gradzoo: trace: {hook_name} on {plugins}: {status}", file=sys.stderr)


# ---------------------------------------------------------------------- the shared registry

_registry: Registry | None = None


def get_registry(plugins_dir=None, cli=None, reload: bool = False) -> Registry:
    """The registry of every plugin, loaded on first use (``reload=True`` loads again)."""
    global _registry
    if _registry is None or reload:
        _registry = PluginLoader(plugins_dir=plugins_dir).load(cli=cli)
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (tests; a changed plugins directory)."""
    global _registry
    _registry = None
