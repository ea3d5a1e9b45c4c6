"""What ``gradzoo train`` does, as one path: set up -> train -> save.

    new run:   build the experiment, pick a free run directory, write its config, train
    --resume:  open the run in --out, check it is the one asked for, load its checkpoint, train

The loop (``Trainer.train``) writes metrics and checkpoints as it goes, so the
run is saved whether it finishes, diverges or is stopped with Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gradzoo.lab.errors import UsageError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import build_experiment, count_parameters, parse_assignments
from gradzoo.lab.training.initialise import start_from
from gradzoo.lab.training.loop import Trainer, TrainResult
from gradzoo.lab.training.opening import open_run
from gradzoo.plugins.manager import Registry


@dataclass
class TrainRequest:
    """Everything ``gradzoo train`` was asked for."""

    model: str
    task: str
    assignments: tuple = ()
    seed: int = 0
    training: dict = field(default_factory=dict)  # steps, lr, batch_size (None: the model's)
    out: str | None = None
    resume: bool = False
    init_from: str | None = None   # a run directory or .safetensors file to start from
    freeze: tuple = ()             # glob patterns of parameters not to train


def train_run(registry: Registry, request: TrainRequest, progress: bool = True,
              echo=print) -> tuple[TrainResult, Path]:
    """Train a new run (or resume the one in ``out``); return the result and the run directory."""
    if request.resume:
        trainer = _resumed_trainer(registry, request, progress, echo)
    else:
        trainer = _new_trainer(registry, request, progress, echo)
    return trainer.train(), trainer.run_dir


def _new_trainer(registry: Registry, request: TrainRequest, progress: bool, echo) -> Trainer:
    """A new run: check its directory, build the experiment, write config.json."""
    run_dir = Path(request.out) if request.out else runs.free_run_dir(request.model, request.task)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file, not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise UsageError(f"{run_dir} is not empty: add --resume to continue the run there, "
                         f"or choose another --out (nothing was changed)")
    experiment = build_experiment(registry, request.model, request.task,
                                  parse_assignments(request.assignments), request.seed,
                                  request.training)
    table = start_from(experiment, registry, request.init_from, request.freeze)
    if table is not None:
        echo(f"starting from {request.init_from}:" if request.init_from else "freezing:")
        echo(table)
    trainer = Trainer(experiment, run_dir, progress=progress, echo=echo)
    trainer.start()
    echo(f"training {request.model} ({count_parameters(experiment.model):,} parameters) on "
         f"{request.task} for {experiment.settings.steps} steps -> {run_dir}")
    return trainer


def _resumed_trainer(registry: Registry, request: TrainRequest, progress: bool, echo) -> Trainer:
    """An old run: open it, check it is the one asked for, load its last checkpoint."""
    if not request.out:
        raise UsageError("--resume needs --out RUN_DIR, the run to continue")
    if request.assignments:
        raise UsageError("--resume continues a run with its own options; drop --set")
    experiment = open_run(request.out, registry, load_weights=False)
    found = (experiment.model_spec.name, experiment.task_spec.name)
    if found != (request.model, request.task):
        raise UsageError(f"{request.out} holds a run of {found[0]} on {found[1]}, not "
                         f"{request.model} on {request.task}")
    _check_same_start(request, experiment)
    if request.training.get("steps"):
        experiment.settings.steps = request.training["steps"]
    trainer = Trainer(experiment, request.out, progress=progress, echo=echo)
    trainer.resume()
    runs.write_json(trainer.run_dir / runs.CONFIG, experiment.config())
    echo(f"resuming {request.model} on {request.task} at step {trainer.step} of "
         f"{experiment.settings.steps}")
    return trainer


def _check_same_start(request: TrainRequest, experiment) -> None:
    """--resume keeps the run's own start: --init-from / --freeze may repeat it, not change it.

    The source weights are never read again: the checkpoint holds what they became.
    """
    started = (experiment.init_from or {}).get("path")
    if request.init_from is not None and request.init_from != started:
        raise UsageError(f"{request.out} started from {started or 'fresh weights'}, not "
                         f"{request.init_from}; --resume continues it from its checkpoint "
                         f"(drop --init-from)")
    if request.freeze and tuple(request.freeze) != tuple(experiment.freeze):
        raise UsageError(f"{request.out} was trained with --freeze "
                         f"{' '.join(experiment.freeze) or '(none)'}; --resume keeps that "
                         f"(drop --freeze)")
