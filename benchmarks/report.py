"""Turn the raw figures into the comparison table: gradzoo, the reference, ratio, target."""

from __future__ import annotations

# (workload, gradzoo's framework, reference framework, what, unit, target ratio, ratio direction)
COMPARISONS = [
    ("gpt_step", "gradzoo", "torch", "W1 GPT step vs PyTorch", "s/step", 1.0, "<="),
    ("gpt_step", "gradzoo", "numpy", "W1 GPT step vs its NumPy matmul floor", "s/step", None,
     "<="),
    ("gpt_step", "gradzoo-zoo", "torch", "W1 GPT step, zoo `gpt` entry, vs PyTorch", "s/step",
     1.0, "<="),
    ("lstm_step", "gradzoo", "torch-cell", "W2 LSTM step vs PyTorch LSTMCell loop", "s/step",
     1.0, "<="),
    ("lstm_step", "gradzoo", "torch", "W2 LSTM step vs PyTorch fused nn.LSTM", "s/step", 2.0,
     "<="),
    ("op_overhead", "gradzoo", "torch", "W3 (x*y + x).sum() + backward, 16 elements", "µs/iter",
     0.5, "<="),
    ("matmul", "gradzoo", "numpy", "W4 512x1024 @ 1024x512 fwd+bwd vs raw NumPy", "GFLOP/s",
     0.95, ">="),
    ("matmul", "torch", "numpy", "W4 PyTorch vs raw NumPy (for reference)", "GFLOP/s", None,
     ">="),
    ("unet_step", "gradzoo", "torch", "W6 diffusion U-Net step (shapes 16x16, batch 64) vs "
     "PyTorch", "s/step", 1.5, "<="),
    ("unet_step", "gradzoo", "numpy", "W6 U-Net step vs its NumPy matmul floor", "s/step", None,
     "<="),
]
GPU_COMPARISONS = [
    ("gpt_step", "gradzoo", "torch", "GPU GPT step (6x384, ctx 256, batch 64) vs PyTorch CUDA",
     "s/step", 2.0, "<="),
]


def _value(result: dict, unit: str):
    if result is None or "error" in result:
        return None
    if unit == "GFLOP/s":
        return result["gflops"]
    if unit == "µs/iter":
        return result["median_s"] * 1e6
    return result["median_s"]


def _met(ratio, target, direction):
    if ratio is None or target is None:
        return None
    return ratio <= target if direction == "<=" else ratio >= target


def rows(summary: dict) -> list[dict]:
    results = summary["results"]
    gpu = summary["kind"].endswith("gpu")
    table = []
    for workload, ours, theirs, what, unit, target, direction in (
            GPU_COMPARISONS if gpu else COMPARISONS):
        if workload not in results:
            continue
        a, b = results[workload].get(ours), results[workload].get(theirs)
        va, vb = _value(a, unit), _value(b, unit)
        ratio = va / vb if va is not None and vb else None
        errors = [r["error"] for r in (a, b) if r is not None and "error" in r]
        table.append({"what": what, "unit": unit, "gradzoo": va, "reference": vb,
                      "reference_name": theirs, "ratio": ratio, "target": target,
                      "direction": direction, "met": _met(ratio, target, direction),
                      "note": "; ".join(errors)})
    if "gpt_step" in results and not gpu:
        a, b = results["gpt_step"].get("gradzoo"), results["gpt_step"].get("torch")
        va = None if a is None or "error" in a else a["peak_rss_mb"]
        vb = None if b is None or "error" in b else b["peak_rss_mb"]
        ratio = va / vb if va is not None and vb else None
        table.append({"what": "W5 peak memory (max RSS) of the W1 process", "unit": "MiB",
                      "gradzoo": va, "reference": vb, "reference_name": "torch", "ratio": ratio,
                      "target": 1.0, "direction": "<=", "met": _met(ratio, 1.0, "<="),
                      "note": ""})
    for name, limit in (("gradzoo --help", 0.3), ("import gradzoo.engine", 0.2)):
        if name in summary.get("startup", {}):
            seconds = summary["startup"][name]["median_s"]
            table.append({"what": f"start-up: `{name}`", "unit": "s", "gradzoo": seconds,
                          "reference": limit, "reference_name": "limit", "ratio": None,
                          "target": limit, "direction": "<=", "met": seconds <= limit,
                          "note": "bare `python -c pass`: "
                                  f"{summary['startup']['python -c pass']['median_s']:.3f} s"})
    return table


def _number(value) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def markdown(summary: dict) -> str:
    m = summary["machine"]
    lines = [f"# gradzoo benchmarks: {summary['kind']}", "",
             f"{summary['date']}; {m['cpu']}, {m['cores']} cores; {m['platform']}; "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + "; "
             f"load average (1, 5, 15 min) before {summary['load_average_before']}, after "
             f"{summary['load_average_after']}; {summary['rounds']} round(s) per framework, "
             f"medians of every timed run; threads: {summary.get('threads')}.", "",
             "| workload | unit | gradzoo | reference | ratio | target | met |",
             "|---|---|---:|---:|---:|---:|:---:|"]
    for row in summary["table"]:
        target = "—" if row["target"] is None else f"{row['direction']} {row['target']}"
        met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        reference = f"{_number(row['reference'])} ({row['reference_name']})"
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}"
        what = row["what"] + (f" ({row['note']})" if row["note"] else "")
        lines.append(f"| {what} | {row['unit']} | {_number(row['gradzoo'])} | {reference} | "
                     f"{ratio} | {target} | {met} |")
    extras = []
    gpt = summary["results"].get("gpt_step", {})
    for name in ("gradzoo", "torch", "gradzoo-zoo"):
        if name in gpt and "tokens_per_s" in gpt[name]:
            extras.append(f"{name} {gpt[name]['tokens_per_s']:.0f} tokens/s")
    if extras:
        lines += ["", "W1 throughput: " + ", ".join(extras) + "."]
    unet = summary["results"].get("unet_step", {})
    losses = {name: unet[name]["first_loss"] for name in ("gradzoo", "torch")
              if "first_loss" in unet.get(name, {})}
    if len(losses) == 2:
        lines += ["", f"W6 loss before the first update, same weights and data: gradzoo "
                      f"{losses['gradzoo']:.7f}, torch {losses['torch']:.7f} (difference "
                      f"{abs(losses['gradzoo'] - losses['torch']):.1e})."]
    return "\n".join(lines) + "\n"


def workload_line(workload: str, results: dict) -> str:
    """A one-line progress report while the run goes on."""
    parts = []
    for name, result in results.items():
        if "error" in result:
            parts.append(f"{name}: failed ({result['error']})")
        else:
            parts.append(f"{name} {result['median_s'] * 1e3:.3f} ms")
    return f"{workload}: " + ", ".join(parts)
