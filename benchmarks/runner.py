"""Run every workload for every framework, each in its own process, and write the results.

    python -m benchmarks            # the sizes of the issue (a few minutes on 2 cores)
    python -m benchmarks --quick    # tiny sizes, seconds: checks that everything runs
    python -m benchmarks --gpu      # the larger GPT on the GPU, against PyTorch CUDA eager

Writes ``<out>/<name>.json`` (every timed run, the medians, the machine and its
load) and ``<out>/<name>.md`` (the table), name = ``cpu``, ``gpu``,
``quick-cpu`` or ``quick-gpu``. The processes of the frameworks alternate
(round 1: A, B; round 2: B, A; round 3: A, B ...), and the figure of each is the
median of all its timed runs, so a machine whose speed drifts treats them alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from benchmarks import report

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent

CPU_PLAN = {
    "gpt_step": ["gradzoo", "torch", "gradzoo-zoo", "numpy"],
    "lstm_step": ["gradzoo", "torch", "torch-cell"],
    "op_overhead": ["gradzoo", "torch"],
    "matmul": ["gradzoo", "numpy", "torch"],
    "unet_step": ["gradzoo", "torch", "numpy"],
}
GPU_PLAN = {"gpt_step": ["gradzoo", "torch"]}


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def worker_environment(threads: int | None) -> dict:
    """The environment of a worker: with ``threads``, every framework gets that many threads."""
    environment = dict(os.environ)
    if threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            environment[name] = str(threads)
    return environment


def run_worker(framework: str, workloads: list[str], quick: bool, gpu: bool,
               threads: int | None = None) -> dict:
    """Workloads of one framework in a fresh process: workload -> its JSON, or its error."""
    command = [sys.executable, "-m", "benchmarks.worker", framework, *workloads]
    command += ["--quick"] * quick + ["--gpu"] * gpu
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=1800,
                          env=worker_environment(threads))
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            found[result["workload"]] = result
    if done.returncode != 0:
        tail = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1]
        for workload in workloads:
            found.setdefault(workload, {"framework": framework, "workload": workload,
                                        "error": tail})
    return found


def merge(results: list[dict]) -> dict:
    """Several rounds of one (framework, workload): all timed runs pooled, medians retaken."""
    good = [r for r in results if "error" not in r]
    if not good:
        return results[-1]
    merged = dict(good[-1])
    merged["times_s"] = [t for r in good for t in r["times_s"]]
    merged["median_s"] = statistics.median(merged["times_s"])
    merged["peak_rss_mb"] = max(r["peak_rss_mb"] for r in good)
    merged["rounds"] = len(good)
    if "tokens_per_s" in merged:
        merged["tokens_per_s"] = merged["size"]["batch"] * merged["size"]["context"] / \
            merged["median_s"]
    if "gflops" in merged:
        size = merged["size"]
        merged["gflops"] = 6.0 * size["m"] * size["k"] * size["n"] / merged["median_s"] / 1e9
    return merged


def startup_times(runs: int) -> dict:
    """Median wall seconds of ``gradzoo --help`` and of ``python -c 'import gradzoo.engine'``."""
    script = Path(sys.executable).with_name("gradzoo")
    help_command = [str(script), "--help"] if script.exists() else \
        [sys.executable, "-m", "gradzoo", "--help"]
    commands = {
        "gradzoo --help": help_command,
        "import gradzoo.engine": [sys.executable, "-c", "import gradzoo.engine"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    figures = {}
    for name, command in commands.items():
        times = []
        for _ in range(runs + 1):  # the first run warms the file cache and is not counted
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
        figures[name] = {"times_s": times[1:], "median_s": statistics.median(times[1:])}
    return figures


def machine() -> dict:
    """What the figures were measured on."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in ("numpy", "torch", "cupy-cuda12x", "cupy-cuda13x"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {"platform": platform.platform(), "cpu": model, "cores": os.cpu_count(),
            "versions": versions,
            "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS",
                                               "OPENBLAS_NUM_THREADS") if k in os.environ}}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(quick: bool, gpu: bool, rounds: int, out: Path, only: list[str] | None,
        echo=print, threads: int | None = None) -> dict:
    plan = GPU_PLAN if gpu else CPU_PLAN
    have_torch = torch_installed()
    plan = {w: f for w, f in plan.items() if not only or w in only}
    load_before = load_average()
    started = time.time()
    # batches of work, each one process: (framework, [workloads]); alternating frameworks
    if quick:  # a smoke test: one process per framework
        frameworks = list(dict.fromkeys(f for fs in plan.values() for f in fs))
        batches = [(f, [w for w, fs in plan.items() if f in fs]) for f in frameworks]
    else:
        batches = [(f, [w]) for w, fs in plan.items() for f in fs]
    found: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(rounds):
        # every other round in reverse order (A B, then B A): a machine that drifts, or is
        # busier while the first round starts, weighs on each framework alike
        for framework, workloads in batches if round_number % 2 == 0 else batches[::-1]:
            if framework.startswith("torch") and not have_torch:
                figures = {w: {"framework": framework, "workload": w,
                               "error": "PyTorch is not installed (pip install "
                                        "'gradzoo[bench]')"} for w in workloads}
            else:
                figures = run_worker(framework, workloads, quick, gpu, threads)
            for workload, result in figures.items():
                found.setdefault((workload, framework), []).append(result)
    results: dict[str, dict[str, dict]] = {}
    for workload, frameworks in plan.items():
        results[workload] = {f: merge(found[(workload, f)]) for f in frameworks}
        echo(report.workload_line(workload, results[workload]))
    summary = {
        "kind": ("quick-" if quick else "") + ("gpu" if gpu else "cpu"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "rounds": rounds,
        "threads": threads or "library defaults",
        "results": results,
    }
    if not gpu and not only:
        summary["startup"] = startup_times(1 if quick else 9)
    summary["table"] = report.rows(summary)
    out.mkdir(parents=True, exist_ok=True)
    name = summary["kind"] + (f"-threads{threads}" if threads else "")
    _write(out / f"{name}.json", json.dumps(summary, indent=2) + "\n")
    _write(out / f"{name}.md", report.markdown(summary))
    echo(report.markdown(summary))
    return summary


def _write(path: Path, text: str) -> None:
    """Write atomically: a temporary file, then rename."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--gpu", action="store_true",
                        help="the larger GPT on the GPU (CuPy) against PyTorch CUDA eager")
    parser.add_argument("--rounds", type=int, default=None,
                        help="processes per framework and workload, alternating (default 2; "
                             "1 with --quick)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--only", action="append", choices=sorted(CPU_PLAN),
                        help="run this workload only (repeatable)")
    parser.add_argument("--threads", type=int, default=None,
                        help="give every framework this many threads (BLAS, OpenMP, PyTorch's "
                             "intra-op pool); default: each library's own default")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 2)
    run(args.quick, args.gpu, rounds, args.out, args.only, threads=args.threads)
    return 0
