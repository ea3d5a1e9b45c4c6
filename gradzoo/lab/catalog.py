"""What ``gradzoo list``, ``info`` and ``plugins`` show: rows built from the registry."""

from __future__ import annotations

from gradzoo.plugins.manager import Registry
from gradzoo.plugins.specs import ModelSpec, TaskSpec

# The task a model is sized for when ``list`` counts its parameters.
PREFERRED_TASK = {"sequence": "reverse", "language": "chars", "generative": "moons",
                  "paired": "captions"}


def example_task(registry: Registry, spec: ModelSpec) -> str | None:
    """The model's own example task, else the usual task of its first kind."""
    named = registry.tasks.get(spec.example_task)
    if named is not None and named.kind in spec.kinds:
        return spec.example_task
    kind = spec.kinds[0]
    preferred = PREFERRED_TASK.get(kind)
    if preferred in registry.tasks and registry.tasks[preferred].kind == kind:
        return preferred
    return next((name for name, task in registry.tasks.items() if task.kind == kind), None)


def parameter_count(registry: Registry, spec: ModelSpec) -> str:
    """Parameters of the model at its defaults, on its example task (on the CPU)."""
    from gradzoo.engine import backend

    task_name = example_task(registry, spec)
    if task_name is None:
        return "?"
    backend.set_default_device("cpu")
    try:
        task_spec = registry.tasks[task_name]
        task = task_spec.make(task_spec.defaults(), 0)
        model = spec.build(task, spec.defaults())
        return f"{sum(p.size for p in model.parameters()):,} ({task_name})"
    except Exception as error:  # a plugin's build may fail; list must still work
        return f"? ({type(error).__name__})"


def model_rows(registry: Registry) -> list[list[str]]:
    return [[name, ",".join(spec.kinds), parameter_count(registry, spec),
             registry.plugin_of("model", name), spec.summary]
            for name, spec in sorted(registry.models.items())]


def task_rows(registry: Registry) -> list[list[str]]:
    return [[name, spec.kind, registry.plugin_of("task", name), spec.summary]
            for name, spec in sorted(registry.tasks.items())]


def option_rows(spec: ModelSpec | TaskSpec) -> list[list[str]]:
    return [[o.name, repr(o.default), o.describe(), o.help] for o in spec.options]


def plugin_rows(registry: Registry) -> list[list[str]]:
    rows = []
    for record in registry.plugins.values():
        registered = ", ".join(
            [f"model {m}" for m in record.models] + [f"task {t}" for t in record.tasks]
            + [f"command {c}" for c in record.commands]) or "-"
        status = f"FAILED: {record.error}" if record.failed else "ok"
        rows.append([record.name, record.source, status, registered])
    return rows
