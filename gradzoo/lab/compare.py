"""``gradzoo compare``: train several models on the same data, same steps, same seeds.

A comparison is a grid of jobs: every model x every value of the swept task
option x every seed. Each job trains in its own process (so its peak memory
is its own, and ``--jobs J`` runs J at once with the same numbers as one at a
time), writes a run directory, and leaves a ``result.json`` there when done.
An interrupted comparison keeps every finished job; ``resume`` runs the rest
(continuing a half-trained job from its checkpoint). A job that fails is
recorded with its reason and the others carry on.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gradzoo.lab import runs

RESULT = "result.json"
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


class CompareError(ValueError):
    """The comparison cannot be set up as asked (the CLI exits with 2)."""


# ---------------------------------------------------------------------- planning


def parse_sweep(text: str | None):
    """``distance=4,16,64`` -> ('distance', ['4', '16', '64']); None -> (None, [None])."""
    if not text:
        return None, [None]
    option, sep, values = text.partition("=")
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not option.strip() or not items:
        raise CompareError(f"--sweep {text!r}: expected OPTION=V1,V2,... (e.g. distance=4,16,64)")
    return option.strip(), items


def plan(registry, request: CompareRequest) -> list[Job]:
    """Every job of the comparison, checked: unknown names and options fail before training."""
    from gradzoo.lab.setup import SetupError, build_experiment

    if len(set(request.models)) != len(request.models):
        raise CompareError(f"a model is named twice: {' '.join(request.models)}")
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
                try:
                    experiment = build_experiment(registry, model, request.task,
                                                  model_assignments, seed,
                                                  {"steps": request.steps})
                except SetupError as error:
                    raise CompareError(str(error)) from None
                folder = f"{request.sweep_option}={value}" if value is not None else "all"
                jobs.append(Job(model, request.task, seed, value, experiment.model_options,
                                experiment.task_options, asdict(experiment.settings),
                                str(Path(request.out) / folder / f"{model}-seed{seed}"),
                                request.plugins_dir))
    return jobs


def assignments_for(registry, request: CompareRequest, model: str) -> dict:
    """The ``--set`` values that apply to ``model``.

    ``MODEL.key=v`` applies to that model only; a plain ``key=v`` to the task if
    it has that option, and to every model that has it. A key nobody has is an error.
    """
    from gradzoo.plugins.specs import did_you_mean

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
            raise CompareError(f"--set {key}: no model of this comparison and not task "
                               f"'{request.task}' has an option '{name}'"
                               f"{did_you_mean(name, known)}; options: {', '.join(known)}")
    return chosen


def match_parameters(registry, request: CompareRequest) -> dict:
    """For each model, the width that brings its parameter count within 10% of the first model's.

    Returns {model: (option name, value)}; the first model keeps its own width.
    """
    from gradzoo.lab.setup import SetupError, build_experiment, count_parameters

    def count(model, extra):
        assignments = {**assignments_for(registry, request, model), **extra}
        if request.sweep_option is not None:
            assignments[f"task.{request.sweep_option}"] = request.sweep_values[0]
        try:
            experiment = build_experiment(registry, model, request.task, assignments, 0)
        except SetupError:
            return None
        return count_parameters(experiment.model)

    target = count(request.models[0], {})
    if target is None:
        raise CompareError(f"--match-params: cannot build {request.models[0]} on {request.task}")
    chosen = {}
    for model in request.models[1:]:
        spec = registry.model(model)
        option = next((o for o in spec.options if o.name in WIDTH_OPTIONS), None)
        if option is None:
            raise CompareError(f"--match-params: model '{model}' has no width option "
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
            raise CompareError(f"--match-params: no {option.name} of '{model}' gives about "
                               f"{target:,} parameters")
        chosen[model] = (option.name, best[0])
    return chosen


# ---------------------------------------------------------------------- running


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
            raise CompareError(f"{job.run_dir} already holds a run: add --resume to continue "
                               f"this comparison, or choose another --out")
        else:
            pending.append(index)
    context = multiprocessing.get_context("spawn")
    options = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with _threads_per_worker(parallel), concurrent.futures.ProcessPoolExecutor(
            max_workers=max(parallel, 1), mp_context=context, **options) as pool:
        futures = {pool.submit(run_job, jobs[i], resume): i for i in pending}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            results[index] = _collect(future, jobs[index])
            echo(f"  {jobs[index].label}: {_status_line(results[index])}")
    return [results[i] for i in range(len(jobs))]


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
    except runs.RunError:
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
            "model_options": job.model_options, "task_options": job.task_options}


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

    from gradzoo.engine import backend
    from gradzoo.lab.setup import rebuild
    from gradzoo.lab.train import Trainer, TrainingStopped, TrainSettings
    from gradzoo.plugins.manager import get_registry

    registry = get_registry(plugins_dir=job.plugins_dir)
    model_spec, task_spec = registry.model(job.model), registry.task(job.task)
    experiment = rebuild(registry, model_spec, task_spec, job.model_options, job.task_options,
                         job.seed, TrainSettings.build(job.training))
    depth, length = measure_depth(experiment)
    experiment = rebuild(registry, model_spec, task_spec, job.model_options, job.task_options,
                         job.seed, TrainSettings.build(job.training))
    trainer = Trainer(experiment, job.run_dir, progress=False, echo=lambda *a: None)
    if resume and (Path(job.run_dir) / runs.STATE).exists():
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
        "parameters": sum(p.size for p in experiment.model.parameters()),
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


def _tokens_per_second(experiment, seconds_per_step: float) -> float | None:
    from gradzoo.lab.train import _tokens

    if seconds_per_step <= 0:
        return None
    batch = experiment.task.batch(experiment.settings.batch_size, 0)
    return _tokens(batch) / seconds_per_step


def _tail_mean(values: list[float], last: int = 5) -> float | None:
    tail = values[-last:]
    return sum(tail) / len(tail) if tail else None


def validation_loss(experiment, batches: int = 4) -> float | None:
    """The model's loss on validation batches (None when the model has no single loss)."""
    from gradzoo.engine import no_grad

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


def measure_depth(experiment) -> tuple[int | None, int | None]:
    """Sequential depth of one loss on a 2-example batch, and that batch's sequence length."""
    from gradzoo.engine.graph import sequential_depth

    batch = experiment.task.batch(2, 0)
    loss = experiment.model.loss(batch)
    length = None
    if hasattr(batch, "source"):  # source SEP target, as a decoder-only model reads it
        length = batch.source.shape[1] + batch.target.shape[1]
    elif hasattr(batch, "inputs"):
        length = batch.inputs.shape[1]
    return sequential_depth(loss), length
