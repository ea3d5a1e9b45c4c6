"""What a comparison reports: terminal tables, results.json, plots and report.html.

Every number comes from the jobs' ``result.json``; seeds are averaged (mean and
standard deviation) per model and swept value.

A generative task scores samples beside two references: its main score beside
``gaussian_baseline`` and ``data_floor``, every other score NAME beside
``NAME_gaussian`` and ``NAME_data`` (the same score of a Gaussian fitted to the
data, and of fresh data). Those get a second table, one row per model and one
row per reference, and ``score_lines`` prints one run's scores the same way.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import platform
from pathlib import Path

from gradzoo import __version__
from gradzoo.engine.io import write_atomically
from gradzoo.lab.tables import format_table

NUMBERS = ("parameters", "seconds_per_step", "tokens_per_second", "train_loss", "valid_loss",
           "score", "peak_memory_mb", "sequential_depth", "sequence_length")
MAIN_BASELINES = {"gaussian": "gaussian_baseline", "data": "data_floor"}
REFERENCE_NAMES = {"gaussian": "Gaussian baseline", "data": "fresh data"}


# ---------------------------------------------------------------------- aggregation


def _mean_std(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if len(values) > 1 \
        else 0.0
    return mean, spread


def aggregate(results: list[dict]) -> list[dict]:
    """One row per (swept value, model): each number's mean and spread over the seeds."""
    groups: dict[tuple, list[dict]] = {}
    for result in results:
        groups.setdefault((result["sweep_value"], result["model"]), []).append(result)
    rows = []
    for (value, model), members in groups.items():
        ok = [m for m in members if m["status"] == "ok"]
        row = {"sweep_value": value, "model": model, "seeds": len(members), "ok": len(ok),
               "failed": [f"seed {m['seed']}: {m.get('reason', m['status'])}"
                          for m in members if m["status"] != "ok"]}
        for name in NUMBERS:
            row[name], row[f"{name}_std"] = _mean_std([m.get(name) for m in ok])
        if ok:
            row["metric"], row["higher_is_better"] = ok[0]["metric"], ok[0]["higher_is_better"]
            row["loss_curve"] = _mean_curve([m["loss_curve"] for m in ok])
            row["scores"] = _mean_scores([m.get("scores") or {} for m in ok])
        rows.append(row)
    for value in dict.fromkeys(r["sweep_value"] for r in rows):
        references = _mean_scores(_one_per_seed([r for r in results if r["sweep_value"] == value
                                                 and r["status"] == "ok"]))
        for row in rows:
            if row["sweep_value"] == value:
                row["reference_scores"] = references
    return rows


def _mean_scores(scores: list[dict]) -> dict:
    """name -> [mean, spread] over the runs, for every score any of them has."""
    names = dict.fromkeys(name for one in scores for name in one)
    return {name: list(_mean_std([one.get(name) for one in scores])) for name in names}


def _one_per_seed(results: list[dict]) -> list[dict]:
    """Each seed's scores once: the references (a Gaussian, fresh data) are the same for every
    model of a seed, so averaging them over models would count a seed several times."""
    by_seed = {}
    for result in results:
        by_seed.setdefault(result["seed"], result.get("scores") or {})
    return list(by_seed.values())


def _mean_curve(curves):
    steps = [step for step, _ in curves[0]]
    return [(step, sum(c[i][1] for c in curves) / len(curves)) for i, step in enumerate(steps)
            if all(len(c) > i for c in curves)]


# ---------------------------------------------------------------------- terminal


def _fmt(row, name, digits=4):
    value, spread = row.get(name), row.get(f"{name}_std")
    if value is None:
        return "-"
    text = f"{value:,.0f}" if name in ("parameters", "tokens_per_second", "sequential_depth") \
        else f"{value:.{digits}g}"
    return text + (f" ±{spread:.2g}" if spread else "")


def _fmt_mean(mean_and_spread, digits=4) -> str:
    mean, spread = mean_and_spread if mean_and_spread is not None else (None, None)
    if mean is None:
        return "-"
    return f"{mean:.{digits}g}" + (f" ±{spread:.2g}" if spread else "")


def terminal_tables(sweep_option, rows) -> str:
    """A table per swept value: model, parameters, speed, losses, score, memory, depth."""
    blocks = []
    for value in dict.fromkeys(r["sweep_value"] for r in rows):
        subset = [r for r in rows if r["sweep_value"] == value]
        metric = next((r["metric"] for r in subset if r.get("metric")), "score")
        header = ["model", "params", "s/step", "tokens/s", "train loss", "valid loss", metric,
                  "peak MB", "seq. depth"]
        table_rows = []
        for row in subset:
            if not row["ok"]:
                table_rows.append([row["model"], "FAILED: " + "; ".join(row["failed"])]
                                  + [""] * (len(header) - 2))
                continue
            table_rows.append([row["model"], _fmt(row, "parameters"),
                               _fmt(row, "seconds_per_step", 3), _fmt(row, "tokens_per_second"),
                               _fmt(row, "train_loss"), _fmt(row, "valid_loss"),
                               _fmt(row, "score"), _fmt(row, "peak_memory_mb", 3),
                               _fmt(row, "sequential_depth")])
        title = f"{sweep_option} = {value}" if sweep_option else "results"
        blocks.append(f"{title}\n\n" + format_table(header, table_rows, max_width=70))
        beside = scores_beside_references(subset)
        if beside:
            blocks.append(beside)
    return "\n\n".join(blocks)


def scores_with_references(scores) -> list[tuple[str, dict[str, str]]]:
    """(score, {reference: key}) for each score kept beside a Gaussian and fresh data, in order.

    The first score is the main one, with ``gaussian_baseline`` and ``data_floor``;
    any other NAME counts when ``NAME_gaussian`` is there too.
    """
    names = list(scores)
    if not names or MAIN_BASELINES["gaussian"] not in scores:
        return []
    found = [(names[0], MAIN_BASELINES)]
    for name in names[1:]:
        keys = {reference: f"{name}_{reference}" for reference in REFERENCE_NAMES}
        if keys["gaussian"] in scores:
            found.append((name, keys))
    return found


def scores_beside_references(subset) -> str:
    """Each model's main score and picture scores, then the same for a Gaussian and fresh data."""
    rows = [r for r in subset if r["ok"] and r.get("scores")]
    if not rows:
        return ""
    beside = scores_with_references(rows[0]["scores"])
    if not beside:
        return ""
    header = ["model", *(name for name, _ in beside)]
    table = [[row["model"], *(_fmt_mean(row["scores"].get(name)) for name, _ in beside)]
             for row in rows]
    references = rows[0]["reference_scores"]
    for reference, label in REFERENCE_NAMES.items():
        table.append([label, *(_fmt_mean(references.get(keys[reference])) for _, keys in beside)])
    title = ("samples scored beside a Gaussian fitted to the data and beside fresh data "
             "(the closer to fresh data, the better)")
    return f"{title}\n\n" + format_table(header, table, max_width=70)


# ---------------------------------------------------------------------- one run's scores


def score_lines(scores: dict) -> list[str]:
    """One run's scores as a small table beside its references (none for other tasks).

    score             model    Gaussian  fresh data
    nn_accuracy       0.7012   0.8784    0.4858
    ...
    """
    beside = scores_with_references(scores)
    if not beside:
        return []
    shown = {key for name, keys in beside for key in (name, *keys.values())}
    table = [[name, f"{scores[name]:.4g}", *(_fmt_number(scores.get(keys[reference]))
                                             for reference in REFERENCE_NAMES)]
             for name, keys in beside]
    shares = {key.removeprefix("class_share_"): value for key, value in scores.items()
              if key.startswith("class_share_")}
    shown |= {f"class_share_{name}" for name in shares} | {"judge_accuracy"}
    table += [[name, f"{value:.4g}", "", ""] for name, value in scores.items() if name not in shown]
    lines = format_table(["score", "model", "Gaussian", "fresh data"], table).splitlines()
    if shares:
        mix = ", ".join(f"{name} {100 * share:.0f}%" for name, share in shares.items())
        lines.append(f"class mix, as the judge sees the samples: {mix}")
        if "judge_accuracy" in scores:
            lines.append(f"(the judge, a cnn trained on the task's labels, names "
                         f"{100 * scores['judge_accuracy']:.1f}% of held-out pictures right)")
    elif "grey_share" in scores:
        lines.append("no frechet_distance or class_mix_gap: this task has no labels to train "
                     "a judge on")
    return lines


def _fmt_number(value) -> str:
    return "-" if value is None else f"{value:.4g}"


# ---------------------------------------------------------------------- results.json


def machine() -> dict:
    """The versions and the machine the numbers were measured on."""
    from gradzoo.engine import backend

    return {"gradzoo": __version__, "python": platform.python_version(),
            **backend.library_versions(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "device": backend.default_device()}


def write_results(out: Path, request, results, rows) -> Path:
    data = {"request": {"models": request.models, "task": request.task, "steps": request.steps,
                        "sweep": {"option": request.sweep_option, "values": request.sweep_values},
                        "seeds": request.seeds, "set": request.assignments,
                        "match_params": request.match_params},
            "machine": machine(), "summary": rows, "jobs": results}
    path = Path(out) / "results.json"
    write_atomically(path, json.dumps(data, indent=2, default=str) + "\n")
    return path


# ---------------------------------------------------------------------- report.html


def report_html(out: Path, request, rows, plots, graphs, tables_text) -> Path:
    """One self-contained page (images embedded) with the tables, plots and graphs."""
    parts = [f"<h1>gradzoo compare: {html.escape(' vs '.join(request.models))} on "
             f"{html.escape(request.task)}</h1>",
             f"<p>{request.seeds} seed(s); machine: {html.escape(json.dumps(machine()))}</p>",
             "<h2>Results</h2>", f"<pre>{html.escape(tables_text)}</pre>"]
    for plot in plots:
        parts += [f"<h2>{html.escape(plot['title'])}</h2>", f"<p>{html.escape(plot['text'])}</p>",
                  _embedded_image(plot["png"], plot["title"])]
    if graphs:
        parts.append("<h2>Computation graphs (module depth 1)</h2>")
        for model, graph in graphs.items():
            parts.append(f"<h3>{html.escape(model)}</h3>")
            parts.append(graph if graph.startswith("<svg") else
                         f"<p>{html.escape(graph)}</p>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gradzoo compare {html.escape(request.task)}</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}"
            "pre{background:#f6f6f6;padding:1em;overflow-x:auto;}img,svg{max-width:100%;"
            "height:auto;}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    path = Path(out) / "report.html"
    write_atomically(path, page)
    return path


def _embedded_image(png_path: Path, alt: str) -> str:
    data = base64.b64encode(Path(png_path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
