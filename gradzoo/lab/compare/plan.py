"""A comparison's plan: several models on the same data, same steps, same seeds.

A comparison is a grid of jobs: every model x every value of the swept task
option x every seed. ``plan`` builds every job's experiment once, so an
unknown name or option fails before anything trains; ``workers.py`` then
trains each job in its own process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment, count_parameters
from gradzoo.plugins.manager import Registry
from gradzoo.plugins.specs import did_you_mean

WIDTH_OPTIONS = ("width", "hidden")  # the option --match-params scales, whichever a model has


@dataclass
class CompareRequest:
    """Everything the user asked for."""

    models: list[str]
    task: str
    steps: int | None = None
    sweep_option: str | None = None
    sweep_values: list[str] = field(default_factory=lambda: [None])
    seeds: int = 1
    assignments: dict = field(default_factory=dict)
    match_params: bool = False
    jobs: int = 1
    out: str = "runs/compare"
    plugins_dir: str | None = None


@dataclass
class Job:
    """One model, on one value of the swept option, with one seed."""

    model: str
    task: str
    seed: int
    sweep_value: str | None
    model_options: dict
    task_options: dict
    training: dict
    run_dir: str
    plugins_dir: str | None = None

    @property
    def label(self) -> str:
        value = "" if self.sweep_value is None else f" @ {self.sweep_value}"
        return f"{self.model}{value} (seed {self.seed})"


# ---------------------------------------------------------------------- planning


def parse_sweep(text: str | None):
    """``distance=4,16,64`` -> ('distance', ['4', '16', '64']); None -> (None, [None])."""
    if not text:
        return None, [None]
    option, sep, values = text.partition("=")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not option.strip() or not items:
        raise UsageError(f"--sweep {text!r}: expected OPTION=V1,V2,... (e.g. distance=4,16,64)")
    return option.strip(), items


def plan(registry: Registry, request: CompareRequest) -> list[Job]:
    """Every job of the comparison, checked: unknown names and options fail before training."""
    if len(set(request.models)) != len(request.models):
        raise UsageError(f"a model is named twice: {' '.join(request.models)}")
    widths = {}
    if request.match_params:
        widths = match_parameters(registry, request)
    jobs = []
    for value in request.sweep_values:
        for model in request.models:
            model_assignments = assignments_for(registry, request, model)
            if request.sweep_option is not None:
                model_assignments[f"task.{request.sweep_option}"] = value
            if model in widths:
                model_assignments[f"model.{widths[model][0]}"] = str(widths[model][1])
            for seed in range(request.seeds):
                experiment = build_experiment(registry, model, request.task, model_assignments,
                                              seed, {"steps": request.steps})
                folder = f"{request.sweep_option}={value}" if value is not None else "all"
                jobs.append(Job(model, request.task, seed, value, experiment.model_options,
                                experiment.task_options, asdict(experiment.settings),
                                str(Path(request.out) / folder / f"{model}-seed{seed}"),
                                request.plugins_dir))
    return jobs


def assignments_for(registry: Registry, request: CompareRequest, model: str) -> dict:
    """The ``--set`` values that apply to ``model``.

    ``MODEL.key=v`` applies to that model only; a plain ``key=v`` to the task if
    it has that option, and to every model that has it. A key nobody has is an error.
    """
    task_options = {o.name for o in registry.task(request.task).options}
    own = {o.name for o in registry.model(model).options}
    chosen = {}
    for key, value in request.assignments.items():
        prefix, _, name = key.rpartition(".")
        if prefix in request.models:
            if prefix == model:
                chosen[f"model.{name}"] = value
        elif prefix in ("model", "task"):
            chosen[key] = value
        elif name in task_options or name in own:
            chosen[f"{'task' if name in task_options else 'model'}.{name}"] = value
        elif not any(name in {o.name for o in registry.model(m).options} for m in request.models):
            known = sorted(task_options.union(*({o.name for o in registry.model(m).options}
                                                for m in request.models)))
            raise UsageError(f"--set {key}: no model of this comparison and not task "
                             f"'{request.task}' has an option '{name}'"
                             f"{did_you_mean(name, known)}; options: {', '.join(known)}")
    return chosen


def match_parameters(registry: Registry, request: CompareRequest) -> dict:
    """For each model, the width that brings its parameter count within 10% of the first model's.

    Returns {model: (option name, value)}; the first model keeps its own width.
    """
    def count(model, extra):
        assignments = {**assignments_for(registry, request, model), **extra}
        if request.sweep_option is not None:
            assignments[f"task.{request.sweep_option}"] = request.sweep_values[0]
        try:
            experiment = build_experiment(registry, model, request.task, assignments, 0)
        except UsageError:
            return None
        return count_parameters(experiment.model)

    target = count(request.models[0], {})
    if target is None:
        raise UsageError(f"--match-params: cannot build {request.models[0]} on {request.task}")
    chosen = {}
    for model in request.models[1:]:
        spec = registry.model(model)
        option = next((o for o in spec.options if o.name in WIDTH_OPTIONS), None)
        if option is None:
            raise UsageError(f"--match-params: model '{model}' has no width option "
                             f"({' or '.join(WIDTH_OPTIONS)}) to scale")
        best = None
        for value in range(max(int(option.min or 1), 1), int(option.max or 4096) + 1):
            params = count(model, {f"model.{option.name}": str(value)})
            if params is None:
                continue  # e.g. a width the number of heads does not divide
            if best is None or abs(params - target) < abs(best[1] - target):
                best = (value, params)
            if params > target * 1.1:
                break
        if best is None or abs(best[1] - target) > 0.1 * target:
            raise UsageError(f"--match-params: no {option.name} of '{model}' gives about "
                             f"{target:,} parameters")
        chosen[model] = (option.name, best[0])
    return chosen
