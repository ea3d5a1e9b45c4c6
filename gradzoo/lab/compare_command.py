"""What ``gradzoo compare`` does: plan the jobs, run them, then write every report."""

from __future__ import annotations

import shutil
from pathlib import Path

from gradzoo.lab import compare_plots, compare_report
from gradzoo.lab.compare import CompareError, CompareRequest, assignments_for, plan, run_all

# The default lesson: recurrent networks forget with distance, attention does not.
DEFAULT_LESSON = {"models": ["rnn", "lstm", "transformer"], "task": "remember",
                  "sweep": "distance=4,16,64", "steps": 400}


def run(registry, request: CompareRequest, resume: bool = False, echo=print) -> dict:
    """Run the comparison; return the aggregated rows and the paths written."""
    jobs = plan(registry, request)
    out = Path(request.out)
    out.mkdir(parents=True, exist_ok=True)
    echo(f"comparing {', '.join(request.models)} on {request.task}: {len(jobs)} training runs, "
         f"{request.jobs} at a time -> {out}")
    results = run_all(jobs, parallel=request.jobs, resume=resume, echo=echo)
    interrupted = [r for r in results if r["status"] == "interrupted"]
    if interrupted:
        raise CompareError(f"interrupted: {len(results) - len(interrupted)} of {len(results)} "
                           f"runs finished and are kept; continue with --resume")
    rows = compare_report.aggregate(results)
    tables = compare_report.terminal_tables(request.sweep_option, rows)
    written = {"results": compare_report.write_results(out, request, results, rows)}
    plots = draw_plots(out, request, rows)
    samples = draw_samples(registry, request, results, out)
    if samples is not None:
        plots.append(samples)
    graphs = draw_graphs(registry, request)
    written["report"] = compare_report.report_html(out, request, rows, plots, graphs, tables)
    written["plots"] = [p[ext] for p in plots for ext in ("png", "svg")]
    return {"rows": rows, "results": results, "tables": tables, "written": written}


def draw_plots(out: Path, request: CompareRequest, rows) -> list[dict]:
    """Loss curves always; score and speed/depth plots when something was swept."""
    drawable = [r for r in rows if r["ok"]]
    if not drawable:
        return []
    plots = [compare_plots.loss_curves(out, drawable, request.sweep_option)]
    if request.sweep_option is not None:
        plots.append(compare_plots.score_against_sweep(out, drawable, request.sweep_option))
    if any(r.get("sequence_length") for r in drawable):
        plots.append(compare_plots.speed_and_depth(out, drawable))
    return plots


def draw_samples(registry, request: CompareRequest, results, out: Path) -> dict | None:
    """Generative tasks: each model's samples side by side (first swept value, first seed)."""
    from gradzoo.engine import no_grad
    from gradzoo.lab.runs import RunError
    from gradzoo.lab.session import open_run

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
    return compare_plots.samples_side_by_side(out, panels, task, where)


def draw_graphs(registry, request: CompareRequest) -> dict[str, str]:
    """Each model's graph at module depth 1, as inline SVG (or a line saying why not)."""
    from gradzoo.engine import graph
    from gradzoo.lab.setup import SetupError, build_experiment

    if shutil.which("dot") is None:
        return {model: "Graphviz's dot program is not installed, so the graph is not drawn "
                       "(apt install graphviz / brew install graphviz)."
                for model in request.models}
    drawings = {}
    for model in request.models:
        assignments = assignments_for(registry, request, model)
        if request.sweep_option is not None:
            assignments[f"task.{request.sweep_option}"] = request.sweep_values[0]
        try:
            experiment = build_experiment(registry, model, request.task, assignments, 0)
            with graph.record():
                loss = experiment.model.loss(experiment.task.batch(2, 0))
            svg = graph.draw(loss, depth=1, title=model).pipe(format="svg").decode("utf-8")
            drawings[model] = svg[svg.index("<svg"):]
        except (SetupError, Exception) as error:  # a plugin model that cannot be drawn
            drawings[model] = f"could not draw this graph: {type(error).__name__}: {error}"
    return drawings
