"""Opening a finished (or interrupted) run: rebuild its model and task, load its weights."""

from __future__ import annotations

from pathlib import Path

from gradzoo.lab.errors import RunError, UsageError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import Experiment, rebuild
from gradzoo.lab.training.initialise import freeze
from gradzoo.lab.training.settings import TrainSettings
from gradzoo.plugins.manager import Registry


def open_run(run_dir, registry: Registry, load_weights: bool = True) -> Experiment:
    """The experiment of ``run_dir`` as config.json describes it, with its last weights."""
    path = runs.check_run_dir(run_dir)
    config = runs.read_json(path / runs.CONFIG)
    _check_config(config, path / runs.CONFIG)
    try:
        model_spec = registry.model(config["model"])
        task_spec = registry.task(config["task"])
        settings = TrainSettings.build(config.get("training", {}))
        model_options = model_spec.resolve(config["model_options"])
        task_options = task_spec.resolve(config["task_options"])
    except KeyError as error:
        raise RunError(f"{path / runs.CONFIG}: {error} (was the plugin that provided it "
                       f"uninstalled?)") from None
    except (ValueError, UsageError) as error:  # an option or a training setting that is wrong
        raise RunError(f"{path / runs.CONFIG}: {error}") from None
    try:
        experiment = rebuild(registry, model_spec, task_spec, model_options, task_options,
                             config.get("seed", 0), settings)
    except UsageError as error:
        raise RunError(f"{path}: {error}") from None
    _restore_start(experiment, config, path / runs.CONFIG)
    if load_weights:
        if not (path / runs.STATE).exists():
            raise RunError(f"{path} has no checkpoint yet ({runs.STATE} is missing)")
        runs.load_checkpoint(path, experiment.model)
    return experiment


def _restore_start(experiment: Experiment, config: dict, path: Path) -> None:
    """Where a fine-tuned run started, and its frozen parameters frozen again.

    The source weights are not read again: the run's own checkpoint holds what
    they became (and a resumed run continues from there).
    """
    experiment.init_from = config.get("init_from")
    patterns = config.get("freeze", [])
    try:
        freeze(experiment.model, patterns)
    except UsageError as error:
        raise RunError(f"{path}: 'freeze': {error}") from None
    experiment.freeze = tuple(patterns)


# the fields of config.json that rebuilding a run needs, and their JSON types
_CONFIG_FIELDS = {"model": str, "task": str, "model_options": dict, "task_options": dict}
_OPTIONAL_FIELDS = {"seed": int, "training": dict, "freeze": list}
_TYPE_WORDS = {str: "a string", dict: "an object", int: "an integer", list: "a list"}


def _check_config(config: dict, path: Path) -> None:
    """A RunError naming the first field of config.json that is missing or of the wrong type."""
    for key, kind in [*_CONFIG_FIELDS.items(), *_OPTIONAL_FIELDS.items()]:
        if key not in config and key in _OPTIONAL_FIELDS:
            continue
        value = config.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            problem = "is missing" if key not in config else f"is not {_TYPE_WORDS[kind]}"
            raise RunError(f"{path} is damaged: '{key}' {problem}")
