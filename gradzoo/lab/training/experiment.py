"""Setting up an experiment: look up a model and a task, split ``--set`` options, build both."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from gradzoo import __version__
from gradzoo.engine import backend
from gradzoo.lab.errors import UsageError
from gradzoo.lab.training.settings import TrainSettings
from gradzoo.plugins.manager import Registry
from gradzoo.plugins.specs import ModelSpec, TaskSpec, did_you_mean


def split_options(assignments: dict[str, str], model: ModelSpec, task: TaskSpec):
    """Send each ``--set key=value`` to the model's or the task's options.

    ``model.key`` and ``task.key`` say it explicitly; a plain ``key`` goes to
    whichever of the two has it, and is an error when both (or neither) do.
    """
    model_names = {o.name for o in model.options}
    task_names = {o.name for o in task.options}
    model_values, task_values = {}, {}
    for key, value in assignments.items():
        owner, _, name = key.rpartition(".")
        if owner == "model":
            model_values[name] = value
        elif owner == "task":
            task_values[name] = value
        elif owner:
            raise UsageError(f"--set {key}: the prefix must be 'model.' or 'task.', not '{owner}.'")
        elif name in model_names and name in task_names:
            raise UsageError(f"--set {key}: both model '{model.name}' and task '{task.name}' have "
                             f"an option '{name}'; write model.{name}=... or task.{name}=...")
        elif name in model_names:
            model_values[name] = value
        elif name in task_names:
            task_values[name] = value
        else:
            both = sorted(model_names | task_names)
            raise UsageError(f"--set {key}: neither model '{model.name}' nor task '{task.name}' "
                             f"has an option '{name}'{did_you_mean(name, both)}; options: "
                             f"{', '.join(both) or 'none'}")
    return model_values, task_values


def parse_assignments(pairs) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``, with an error for a pair without '='."""
    result = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {pair!r}: expected key=value")
        result[key.strip()] = value.strip()
    return result


@dataclass
class Experiment:
    """A model built for a task, with every option resolved: what one run trains."""

    model_spec: ModelSpec
    task_spec: TaskSpec
    model_options: dict
    task_options: dict
    seed: int
    settings: TrainSettings
    task: object = field(repr=False)
    model: object = field(repr=False)
    plugin: str = "built-in"
    init_from: dict | None = None   # where the weights started (``--init-from``), if not fresh
    freeze: tuple = ()              # the ``--freeze`` patterns

    def config(self) -> dict:
        """Everything needed to rebuild this experiment (config.json)."""
        return {"format": "gradzoo-run", "gradzoo_version": __version__,
                "model": self.model_spec.name, "task": self.task_spec.name,
                "model_options": self.model_options, "task_options": self.task_options,
                "seed": self.seed, "training": asdict(self.settings),
                "device": backend.default_device(), "plugin": self.plugin,
                "parameters": count_parameters(self.model),
                **({"init_from": self.init_from, "freeze": list(self.freeze)}
                   if self.init_from is not None or self.freeze else {})}


def count_parameters(model) -> int:
    """How many numbers the model learns."""
    return sum(p.size for p in model.parameters())


def build_experiment(registry: Registry, model_name: str, task_name: str, assignments=None,
                     seed: int = 0, training: dict | None = None) -> Experiment:
    """Look up, validate and build a model for a task (a ``UsageError`` says what is wrong)."""
    try:
        model_spec = registry.model(model_name)
        task_spec = registry.task(task_name)
    except KeyError as error:  # the registry's message names the known ones
        raise UsageError(str(error)) from None
    if task_spec.kind not in model_spec.kinds:
        raise UsageError(f"model '{model_name}' runs {' and '.join(model_spec.kinds)} tasks; "
                         f"task '{task_name}' is a {task_spec.kind} task")
    model_values, task_values = split_options(assignments or {}, model_spec, task_spec)
    try:
        model_options = model_spec.resolve(model_values)
        task_options = task_spec.resolve(task_values)
    except ValueError as error:  # SpecError: a value of the wrong type or out of range
        raise UsageError(str(error)) from None
    experiment = rebuild(registry, model_spec, task_spec, model_options, task_options, seed,
                         TrainSettings.build(model_spec.training, training))
    if getattr(experiment.task, "image_shape", None) is not None and model_spec.picture_training:
        # pictures train another network (a U-Net, a DCGAN): its own defaults, then the user's
        experiment.settings = TrainSettings.build(model_spec.training,
                                                  model_spec.picture_training, training)
    return experiment


def rebuild(registry: Registry, model_spec: ModelSpec, task_spec: TaskSpec, model_options: dict,
            task_options: dict, seed: int, settings: TrainSettings) -> Experiment:
    """Build the task and the model from resolved options (a run directory does this too)."""
    backend.manual_seed(seed)
    try:
        task = task_spec.make(dict(task_options), seed)
    except ValueError as error:  # SpecError too: options that do not fit together
        raise UsageError(str(error)) from None
    try:
        model = model_spec.build(task, dict(model_options))
    except ValueError as error:  # e.g. heads that do not divide width
        raise UsageError(f"model '{model_spec.name}' cannot be built with these options: "
                         f"{error}") from None
    return Experiment(model_spec, task_spec, model_options, task_options, seed, settings,
                      task, model, registry.plugin_of("model", model_spec.name))
