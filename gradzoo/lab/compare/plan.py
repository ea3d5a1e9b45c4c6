"""A comparison's plan: several models on the same data, same steps, same seeds.

A comparison is a grid of jobs: every model x every value of the swept task
option x every seed. A model may be named twice as variants, ``gpt`` and
``gpt@pretrained`` (a label after '@'): the same model, each variant with its own
``--init-from LABEL=SOURCE`` and ``--freeze LABEL=GLOB``, on the same data, steps
and seeds. ``plan`` builds every job's experiment once, so an unknown name or
option, a source that does not fit or a pattern that matches nothing fails
before anything trains; ``workers.py`` then trains each job in its own process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.experiment import build_experiment, count_parameters
from gradzoo.lab.training.initialise import read_source, start_from
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
    init_from: dict = field(default_factory=dict)   # label -> run directory or .safetensors
    freeze: dict = field(default_factory=dict)      # label -> tuple of glob patterns


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
    init_from: str | None = None   # the weights this variant starts from
    freeze: tuple = ()             # the parameters it does not train

    @property
    def base(self) -> str:
        """The registered model of a variant: ``gpt`` for ``gpt@pretrained``."""
        return model_of(self.model)

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


def sweep_key(registry: Registry, request) -> str:
    """``task.NAME`` when the task has the swept option, else ``model.NAME`` (e.g. layers)."""
    name = request.sweep_option
    task_options = [o.name for o in registry.task(request.task).options]
    if name in task_options:
        return f"task.{name}"
    model_options = {o.name for m in request.models for o in registry.model(model_of(m)).options}
    if name not in model_options:
        raise UsageError(f"--sweep {name}: task '{request.task}' has no option '{name}' (its "
                         f"options: {', '.join(task_options) or 'none'}) and no model of this "
                         f"comparison has one (theirs: {', '.join(sorted(model_options))})")
    return f"model.{name}"


def model_of(label: str) -> str:
    """``gpt@pretrained`` -> ``gpt``: the model a variant's label names."""
    return label.partition("@")[0]


def parse_variant_options(pairs, models: list[str], option: str) -> dict:
    """``["gpt@pretrained=RUN"]`` -> {"gpt@pretrained": ["RUN"]}, each label one of ``models``."""
    chosen: dict[str, list] = {}
    for pair in pairs or ():
        label, sep, value = pair.partition("=")
        if not sep or label not in models or not value:
            raise UsageError(f"{option} {pair!r}: expected LABEL=VALUE with LABEL one of the "
                             f"models compared ({', '.join(models)}), e.g. "
                             f"{option} {models[-1]}=runs/gpt-chars")
        chosen.setdefault(label, []).append(value)
    return chosen


def plan(registry: Registry, request: CompareRequest) -> list[Job]:
    """Every job of the comparison, checked: unknown names and options fail before training."""
    if len(set(request.models)) != len(request.models):
        raise UsageError(f"a model is named twice: {' '.join(request.models)} (name variants "
                         f"of one model with a label: gpt gpt@pretrained)")
    bad = [label for label in request.models if label.endswith("@") or label.startswith("@")]
    if bad:
        raise UsageError(f"'{bad[0]}': write a variant as MODEL@LABEL, e.g. gpt@pretrained")
    sources = {label: read_source(path, registry) for label, path in request.init_from.items()}
    widths = {}
    if request.match_params:
        widths = match_parameters(registry, request)
    jobs = []
    for value in request.sweep_values:
        for model in request.models:
            model_assignments = assignments_for(registry, request, model)
            if request.sweep_option is not None:
                model_assignments[sweep_key(registry, request)] = value
            if model in widths:
                model_assignments[f"model.{widths[model][0]}"] = str(widths[model][1])
            init_from, freeze = request.init_from.get(model), tuple(request.freeze.get(model, ()))
            for seed in range(request.seeds):
                experiment = build_experiment(registry, model_of(model), request.task,
                                              model_assignments, seed, {"steps": request.steps})
                # the source fits and the patterns match, before anything trains
                start_from(experiment, registry, init_from, freeze, sources.get(model))
                folder = f"{request.sweep_option}={value}" if value is not None else "all"
                jobs.append(Job(model, request.task, seed, value, experiment.model_options,
                                experiment.task_options, asdict(experiment.settings),
                                str(Path(request.out) / folder / f"{model}-seed{seed}"),
                                request.plugins_dir, init_from, freeze))
    return jobs


def assignments_for(registry: Registry, request: CompareRequest, model: str) -> dict:
    """The ``--set`` values that apply to ``model``.

    ``MODEL.key=v`` applies to that model only (and its variants: ``gpt.width`` to
    ``gpt@pretrained`` too, ``gpt@pretrained.width`` to that variant only); a plain
    ``key=v`` to the task if it has that option, and to every model that has it. A
    key nobody has is an error.
    """
    task_options = {o.name for o in registry.task(request.task).options}
    own = {o.name for o in registry.model(model_of(model)).options}
    labels = set(request.models) | {model_of(m) for m in request.models}
    chosen = {}
    for key, value in request.assignments.items():
        prefix, _, name = key.rpartition(".")
        if prefix in labels:
            if prefix in (model, model_of(model)):
                chosen[f"model.{name}"] = value
        elif prefix in ("model", "task"):
            chosen[key] = value
        elif name in task_options or name in own:
            chosen[f"{'task' if name in task_options else 'model'}.{name}"] = value
        elif not any(name in {o.name for o in registry.model(model_of(m)).options}
                     for m in request.models):
            known = sorted(task_options.union(*({o.name for o in
                                                 registry.model(model_of(m)).options}
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
            assignments[sweep_key(registry, request)] = request.sweep_values[0]
        try:
            experiment = build_experiment(registry, model_of(model), request.task, assignments, 0)
        except UsageError:
            return None
        return count_parameters(experiment.model)

    target = count(request.models[0], {})
    if target is None:
        raise UsageError(f"--match-params: cannot build {request.models[0]} on {request.task}")
    chosen = {}
    for model in request.models[1:]:
        spec = registry.model(model_of(model))
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
