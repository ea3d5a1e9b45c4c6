"""What ``gradzoo list``, ``info`` and ``plugins`` show: rows built from the registry."""

from __future__ import annotations

from gradzoo.lab.training.experiment import count_parameters
from gradzoo.plugins.manager import Registry
from gradzoo.plugins.specs import ModelSpec, TaskSpec


def parameter_count(registry: Registry, spec: ModelSpec) -> str:
    """Parameters of the model at its defaults, on its example task (on the default device)."""
    task_name = registry.example_task(spec)
    if task_name is None:
        return "?"
    try:
        task_spec = registry.tasks[task_name]
        task = task_spec.make(task_spec.defaults(), 0)
        model = spec.build(task, spec.defaults())
        return f"{count_parameters(model):,} ({task_name})"
    except Exception as error:  # a plugin's build may fail; list must still work
        return f"? ({type(error).__name__})"


def model_rows(registry: Registry) -> list[list[str]]:
    """One row per model: name, kinds, parameter count (task), plugin, summary."""
    return [[name, ",".join(spec.kinds), parameter_count(registry, spec),
             registry.plugin_of("model", name), spec.summary]
            for name, spec in sorted(registry.models.items())]


def task_rows(registry: Registry) -> list[list[str]]:
    """One row per task: name, kind, plugin, summary."""
    return [[name, spec.kind, registry.plugin_of("task", name), spec.summary]
            for name, spec in sorted(registry.tasks.items())]


def option_rows(spec: ModelSpec | TaskSpec) -> list[list[str]]:
    """One row per option: name, default, what values it allows, help."""
    return [[o.name, repr(o.default), o.describe(), o.help] for o in spec.options]


def plugin_rows(registry: Registry) -> list[list[str]]:
    """One row per plugin: name, where it came from, ok or why it failed, what it registered."""
    rows = []
    for record in registry.plugins.values():
        registered = ", ".join(
            [f"model {m}" for m in record.models] + [f"task {t}" for t in record.tasks]
            + [f"command {c}" for c in record.commands]) or "-"
        status = f"FAILED: {record.error}" if record.failed else "ok"
        rows.append([record.name, record.source, status, registered])
    return rows
