"""Each job of a comparison trained and measured in its own process.

A worker process per job keeps each job's peak memory its own, and ``--jobs J``
runs J at once with the same numbers as one at a time. A job writes a run
directory and leaves a ``result.json`` there when done. An interrupted
comparison keeps every finished job; ``resume`` runs the rest (continuing a
half-trained job from its checkpoint). A job that fails is recorded with its
reason and the others carry on.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import sys
import traceback
from pathlib import Path

from gradzoo import graph
from gradzoo.engine import backend, no_grad
from gradzoo.lab.compare.plan import Job
from gradzoo.lab.errors import RunError, UsageError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import Experiment, count_parameters, rebuild
from gradzoo.lab.training.initialise import start_from, trainable
from gradzoo.lab.training.loop import Trainer, TrainingStopped, batch_tokens
from gradzoo.lab.training.settings import TrainSettings
from gradzoo.plugins.manager import get_registry

RESULT = "result.json"


def run_all(jobs: list[Job], parallel: int = 1, resume: bool = False, echo=print) -> list[dict]:
    """Run every job not already finished; return all results in the jobs' order."""
    results: dict[int, dict] = {}
    pending = []
    for index, job in enumerate(jobs):
        existing = _finished_result(job)
        if existing is not None and resume:
            results[index] = existing
            echo(f"  {job.label}: done earlier, kept")
        elif Path(job.run_dir).exists() and any(Path(job.run_dir).iterdir()) and not resume:
            raise UsageError(f"{job.run_dir} already holds a run: add --resume to continue "
                             f"this comparison, or choose another --out")
        else:
            pending.append(index)
    context = multiprocessing.get_context("spawn")
    options = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with _threads_per_worker(parallel), concurrent.futures.ProcessPoolExecutor(
            max_workers=max(parallel, 1), mp_context=context, initializer=_start_worker,
            **options) as pool:
        futures = {pool.submit(run_job, jobs[i], resume): i for i in pending}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            results[index] = _collect(future, jobs[index])
            echo(f"  {jobs[index].label}: {_status_line(results[index])}")
    return [results[i] for i in range(len(jobs))]


def _start_worker() -> None:
    """Set up a fresh worker process before its job runs."""
    # A training step frees and allocates the same array sizes again and again; by default
    # glibc hands each freed buffer back to the kernel, and the next step pays to map and zero
    # it anew. Keeping freed memory is a process-wide setting of the C library, so the lab
    # makes it only in a process that is its own: this worker (and the CLI, in cli.main).
    backend.keep_freed_memory()


@contextlib.contextmanager
def _threads_per_worker(parallel: int):
    """Share the cores: each of ``parallel`` workers gets cores // parallel BLAS threads.

    Workers read these variables when they import NumPy; without them every
    worker would start a thread per core and they would fight over the cores.
    """
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    if parallel > 1:
        for name in names:
            os.environ.setdefault(name, str(max(1, (os.cpu_count() or 1) // parallel)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _collect(future, job: Job) -> dict:
    try:
        return future.result()
    except Exception as error:  # the worker process itself died
        return _failed(job, f"{type(error).__name__}: {error}")


def _finished_result(job: Job) -> dict | None:
    path = Path(job.run_dir) / RESULT
    if not path.exists():
        return None
    try:
        result = runs.read_json(path)
    except RunError:
        return None
    return result if result.get("status") in ("ok", "failed") else None


def _status_line(result: dict) -> str:
    if result["status"] != "ok":
        return f"{result['status'].upper()}: {result.get('reason', '')}"
    return f"{result['metric']} {result['score']:.4g} in {result['train_seconds']:.1f} s"


def _failed(job: Job, reason: str, status: str = "failed") -> dict:
    return {**_identity(job), "status": status, "reason": reason}


def _identity(job: Job) -> dict:
    return {"model": job.model, "task": job.task, "seed": job.seed,
            "sweep_value": job.sweep_value, "run_dir": job.run_dir,
            "model_options": job.model_options, "task_options": job.task_options,
            "init_from": job.init_from, "freeze": list(job.freeze)}


def run_job(job: Job, resume: bool = False) -> dict:
    """Train one job in this process and measure it (called in a worker process)."""
    try:
        result = _train_and_measure(job, resume)
    except KeyboardInterrupt:
        return _failed(job, "interrupted", status="interrupted")
    except Exception as error:  # a plugin's bug must not stop the other jobs
        last = traceback.extract_tb(error.__traceback__)[-1]
        result = _failed(job, f"{type(error).__name__}: {error} ({Path(last.filename).name}:"
                              f"{last.lineno})")
    if result["status"] in ("ok", "failed"):
        Path(job.run_dir).mkdir(parents=True, exist_ok=True)
        runs.write_json(Path(job.run_dir) / RESULT, result)
    return result


def _train_and_measure(job: Job, resume: bool) -> dict:
    import resource

    registry = get_registry(plugins_dir=job.plugins_dir)
    model_spec, task_spec = registry.model(job.base), registry.task(job.task)
    experiment = rebuild(registry, model_spec, task_spec, job.model_options, job.task_options,
                         job.seed, TrainSettings.build(job.training))
    depth, length = measure_depth(experiment)
    experiment = rebuild(registry, model_spec, task_spec, job.model_options, job.task_options,
                         job.seed, TrainSettings.build(job.training))
    resuming = resume and (Path(job.run_dir) / runs.STATE).exists()
    # a variant's start: its source weights (not when resuming: the checkpoint has them), and
    # its frozen parameters, before the optimizer is built over the trainable ones
    start_from(experiment, registry, None if resuming else job.init_from, job.freeze)
    trainer = Trainer(experiment, job.run_dir, progress=False, echo=lambda *a: None)
    if resuming:
        trainer.resume()
    else:
        trainer.start()
    try:
        outcome = trainer.train()
    except TrainingStopped as stopped:
        if stopped.exit_code == 130:
            return _failed(job, "interrupted", status="interrupted")
        return _failed(job, str(stopped))
    scores = outcome.scores
    metrics = runs.read_metrics(job.run_dir)
    losses = [(m["step"], m["loss"]) for m in metrics if "loss" in m]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds_per_step = trainer.step_seconds / max(trainer.steps_timed, 1)
    return {
        **_identity(job), "status": "ok", "device": backend.default_device(),
        "parameters": count_parameters(experiment.model),
        "trainable_parameters": sum(p.size for p in trainable(experiment.model)),
        "steps": outcome.steps, "train_seconds": trainer.step_seconds,
        "seconds_per_step": seconds_per_step,
        "tokens_per_second": _tokens_per_second(experiment, seconds_per_step),
        "train_loss": _tail_mean([loss for _, loss in losses]),
        "valid_loss": validation_loss(experiment),
        "metric": experiment.task.main_metric, "score": scores.get(experiment.task.main_metric),
        "higher_is_better": experiment.task.higher_is_better, "scores": scores,
        "peak_memory_mb": peak_kb / 1024.0, "sequential_depth": depth,
        "sequence_length": length, "loss_curve": losses,
    }


def _tokens_per_second(experiment: Experiment, seconds_per_step: float) -> float | None:
    """Tokens (or samples) of one training batch over the mean seconds of one step."""
    if seconds_per_step <= 0:
        return None
    batch = experiment.task.batch(experiment.settings.batch_size, 0)
    return batch_tokens(batch) / seconds_per_step


def _tail_mean(values: list[float], last: int = 5) -> float | None:
    tail = values[-last:]
    return sum(tail) / len(tail) if tail else None


def validation_loss(experiment: Experiment, batches: int = 4) -> float | None:
    """The model's loss on validation batches (None when the model has no single loss)."""
    model, task = experiment.model, experiment.task
    model.eval()
    try:
        with no_grad():
            losses = [model.loss(task.batch(experiment.settings.batch_size, i, "valid")).item()
                      for i in range(batches)]
    except (AttributeError, NotImplementedError, TypeError):
        return None
    finally:
        model.train()
    return sum(losses) / len(losses)


def measure_depth(experiment: Experiment) -> tuple[int | None, int | None]:
    """Sequential depth of one loss on a 2-example batch, and that batch's sequence length."""
    batch = experiment.task.batch(2, 0)
    loss = experiment.model.loss(batch)
    length = None
    if hasattr(batch, "source"):  # source SEP target, as a decoder-only model reads it
        length = batch.source.shape[1] + batch.target.shape[1]
    elif hasattr(batch, "inputs"):
        length = batch.inputs.shape[1]
    return graph.sequential_depth(loss), length
