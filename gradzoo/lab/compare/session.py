"""What ``gradzoo compare`` does, as one path: plan the jobs -> run them -> write every report."""

from __future__ import annotations

import shutil
from pathlib import Path

from gradzoo import graph
from gradzoo.engine import no_grad
from gradzoo.lab.compare import plots, report
from gradzoo.lab.compare.plan import CompareRequest, assignments_for, model_of, plan, sweep_key
from gradzoo.lab.compare.workers import run_all
from gradzoo.lab.errors import RunError, UsageError
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.opening import open_run
from gradzoo.plugins.manager import Registry

# The default lesson: recurrent networks forget with distance, attention does not.
DEFAULT_LESSON = {"models": ["rnn", "lstm", "transformer"], "task": "remember",
                  "sweep": "distance=4,16,64", "steps": 400}


def run_comparison(registry: Registry, request: CompareRequest, resume: bool = False,
                   echo=print) -> dict:
    """Run the comparison; return the aggregated rows and the paths written."""
    jobs = plan(registry, request)
    out = Path(request.out)
    out.mkdir(parents=True, exist_ok=True)
    echo(f"comparing {', '.join(request.models)} on {request.task}: {len(jobs)} training runs, "
         f"{request.jobs} at a time -> {out}")
    results = run_all(jobs, parallel=request.jobs, resume=resume, echo=echo)
    interrupted = [r for r in results if r["status"] == "interrupted"]
    if interrupted:
        raise UsageError(f"interrupted: {len(results) - len(interrupted)} of {len(results)} "
                         f"runs finished and are kept; continue with --resume")
    rows = report.aggregate(results)
    tables = report.terminal_tables(request.sweep_option, rows)
    written = {"results": report.write_results(out, request, results, rows)}
    drawn = draw_plots(out, request, rows)
    samples = draw_samples(registry, request, results, out)
    if samples is not None:
        drawn.append(samples)
    drawn += draw_insides(registry, request, results, out)
    graphs = draw_graphs(registry, request)
    written["report"] = report.report_html(out, request, rows, drawn, graphs, tables)
    written["plots"] = [plot[ext] for plot in drawn for ext in ("png", "svg")]
    return {"rows": rows, "results": results, "tables": tables, "written": written}


def draw_plots(out: Path, request: CompareRequest, rows) -> list[dict]:
    """Loss curves always; score and speed/depth plots when something was swept."""
    drawable = [r for r in rows if r["ok"]]
    if not drawable:
        return []
    drawn = [plots.loss_curves(out, drawable, request.sweep_option)]
    if request.sweep_option is not None:
        drawn.append(plots.score_against_sweep(out, drawable, request.sweep_option))
    if any(r.get("sequence_length") for r in drawable):
        drawn.append(plots.speed_and_depth(out, drawable))
    return drawn


def draw_samples(registry: Registry, request: CompareRequest, results, out: Path) -> dict | None:
    """Generative tasks: each model's samples side by side (first swept value, first seed)."""
    if registry.task(request.task).kind != "generative":
        return None
    first = request.sweep_values[0]
    panels, task = [], None
    for result in results:
        if result["status"] != "ok" or result["seed"] != 0 or result["sweep_value"] != first:
            continue
        try:
            experiment = open_run(result["run_dir"], registry)
        except RunError:
            continue
        experiment.model.eval()
        with no_grad():
            samples = experiment.model.sample(500).numpy()
        panels.append((result["model"], samples))
        task = experiment.task
    if not panels:
        return None
    where = f"{request.sweep_option} = {first}" if request.sweep_option else request.task
    return plots.samples_side_by_side(out, panels, task, where)


def draw_insides(registry: Registry, request: CompareRequest, results, out: Path) -> list[dict]:
    """Each attention or recurrent model's ``gradzoo inspect`` picture for held-out example 0
    (first swept value, seed 0); models with neither are left out."""
    from gradzoo.lab.inspect.session import inspect_run

    drawn = []
    for result in results:
        if result["status"] != "ok" or result["seed"] != 0 or \
                result["sweep_value"] != request.sweep_values[0]:
            continue
        try:
            outcome = inspect_run(registry, result["run_dir"],
                                  out=out / "inspect" / result["model"])
        except Exception:  # no attention and no recurrence, or a plugin model it cannot read
            continue
        png, svg = outcome["written"][:2]
        what = "attention maps per layer and head" if "maps" in outcome else \
            "states and gates over time"
        drawn.append({"title": f"inside {result['model']}: {what}", "png": png, "svg": svg,
                      "text": f"{outcome['lines'][0]}. Made by gradzoo inspect "
                              f"{result['run_dir']} (see docs/inspect.md)."})
    return drawn


def draw_graphs(registry: Registry, request: CompareRequest) -> dict[str, str]:
    """Each model's graph at module depth 1, as inline SVG (or a line saying why not)."""
    if shutil.which("dot") is None:
        return {model: "Graphviz's dot program is not installed, so the graph is not drawn "
                       "(apt install graphviz / brew install graphviz)."
                for model in request.models}
    drawings = {}
    for model in request.models:
        assignments = assignments_for(registry, request, model)
        if request.sweep_option is not None:
            assignments[sweep_key(registry, request)] = request.sweep_values[0]
        try:
            experiment = build_experiment(registry, model_of(model), request.task, assignments, 0)
            with graph.record():
                loss = experiment.model.loss(experiment.task.batch(2, 0))
            svg = graph.draw(loss, depth=1, title=model).pipe(format="svg").decode("utf-8")
            drawings[model] = svg[svg.index("<svg"):]
        except Exception as error:  # a UsageError, or a plugin model that cannot be drawn
            drawings[model] = f"could not draw this graph: {type(error).__name__}: {error}"
    return drawings
