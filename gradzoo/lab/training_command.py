"""What ``gradzoo train`` does: pick the run directory, start or resume, train, report."""

from __future__ import annotations

from pathlib import Path

from gradzoo.lab import runs
from gradzoo.lab.session import open_run
from gradzoo.lab.setup import SetupError, build_experiment, parse_assignments
from gradzoo.lab.train import Trainer, TrainingStopped

Stopped = TrainingStopped


class UsageProblem(ValueError):
    """The user's request cannot be carried out as given (the CLI exits with 2)."""


def free_run_dir(model: str, task: str, root: str = "runs") -> Path:
    """runs/MODEL-TASK, or runs/MODEL-TASK-2, -3... if taken (an old run is never overwritten)."""
    base = Path(root) / f"{model}-{task}"
    candidate, number = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        number += 1
        candidate = Path(f"{base}-{number}")
    return candidate


def run(registry, model, task, assignments, seed, training, out, resume, progress=True,
        echo=print):
    """Train (or resume) and return (TrainResult, run directory)."""
    if resume:
        trainer, run_dir = _resumed_trainer(registry, model, task, assignments, training, out,
                                            progress, echo)
    else:
        trainer, run_dir = _new_trainer(registry, model, task, assignments, seed, training, out,
                                        progress, echo)
    return trainer.train(), run_dir


def _new_trainer(registry, model, task, assignments, seed, training, out, progress, echo):
    run_dir = Path(out) if out else free_run_dir(model, task)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageProblem(f"--out {run_dir} is a file, not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise UsageProblem(f"{run_dir} is not empty: add --resume to continue the run there, "
                           f"or choose another --out (nothing was changed)")
    try:
        experiment = build_experiment(registry, model, task, parse_assignments(assignments),
                                      seed, training)
    except SetupError as error:
        raise UsageProblem(str(error)) from None
    trainer = Trainer(experiment, run_dir, progress=progress, echo=echo)
    trainer.start()
    echo(f"training {model} ({_count(experiment.model):,} parameters) on {task} for "
         f"{experiment.settings.steps} steps -> {run_dir}")
    return trainer, run_dir


def _resumed_trainer(registry, model, task, assignments, training, out, progress, echo):
    if not out:
        raise UsageProblem("--resume needs --out RUN_DIR, the run to continue")
    if assignments:
        raise UsageProblem("--resume continues a run with its own options; drop --set")
    try:
        experiment = open_run(out, registry, load_weights=False)
    except runs.RunError as error:
        raise UsageProblem(str(error)) from None
    if (experiment.model_spec.name, experiment.task_spec.name) != (model, task):
        raise UsageProblem(f"{out} holds a run of {experiment.model_spec.name} on "
                           f"{experiment.task_spec.name}, not {model} on {task}")
    if training.get("steps"):
        experiment.settings.steps = training["steps"]
    trainer = Trainer(experiment, out, progress=progress, echo=echo)
    try:
        trainer.resume()
    except runs.RunError as error:
        raise UsageProblem(str(error)) from None
    config = experiment.config()
    config["training"]["steps"] = experiment.settings.steps
    runs.write_json(Path(out) / runs.CONFIG, config)
    echo(f"resuming {model} on {task} at step {trainer.step} of {experiment.settings.steps}")
    return trainer, Path(out)


def _count(model) -> int:
    return sum(p.size for p in model.parameters())
