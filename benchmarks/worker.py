"""Run ONE workload of ONE framework in this process and print its figures as one JSON line.

    python -m benchmarks.worker gradzoo gpt_step [more workloads] [--quick] [--gpu]

The runner starts a fresh process for each pair, so no framework pays for
another's imports, threads or memory, and the peak resident size (W5) is
this workload's alone. (``--quick``, a smoke test, runs all of one
framework's workloads in one process, to spare the start-ups.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks import shared, timing

# (framework, workload) -> how to build it: (module, function, size key, extra keywords)
CASES = {
    ("gradzoo", "gpt_step"): ("gradzoo_side", "gpt_step", "gpt", {}),
    ("gradzoo-zoo", "gpt_step"): ("gradzoo_side", "gpt_step", "gpt", {"zoo": True}),
    ("torch", "gpt_step"): ("torch_side", "gpt_step", "gpt", {}),
    ("numpy", "gpt_step"): ("numpy_side", "gpt_matmul_floor", "gpt", {}),
    ("gradzoo", "lstm_step"): ("gradzoo_side", "lstm_step", "lstm", {}),
    ("torch", "lstm_step"): ("torch_side", "lstm_step", "lstm", {"fused": True}),
    ("torch-cell", "lstm_step"): ("torch_side", "lstm_step", "lstm", {"fused": False}),
    ("gradzoo", "op_overhead"): ("gradzoo_side", "op_overhead", "overhead", {}),
    ("torch", "op_overhead"): ("torch_side", "op_overhead", "overhead", {}),
    ("gradzoo", "matmul"): ("gradzoo_side", "matmul", "matmul", {}),
    ("torch", "matmul"): ("torch_side", "matmul", "matmul", {}),
    ("numpy", "matmul"): ("numpy_side", "matmul", "matmul", {}),
    ("gradzoo", "unet_step"): ("gradzoo_side", "unet_step", "unet", {}),
    ("torch", "unet_step"): ("torch_side", "unet_step", "unet", {}),
    ("numpy", "unet_step"): ("numpy_side", "unet_matmul_floor", "unet", {}),
}

# warm-up runs, timed runs, calls per timed run
REPEATS = {"gpt_step": (3, 11, 1), "lstm_step": (3, 11, 1), "op_overhead": (500, 11, 2000),
           "matmul": (3, 15, 3), "unet_step": (3, 11, 1)}
QUICK_REPEATS = {"gpt_step": (1, 3, 1), "lstm_step": (1, 3, 1), "op_overhead": (20, 3, 50),
                 "matmul": (1, 3, 1), "unet_step": (1, 3, 1)}


def run_case(framework: str, workload: str, quick: bool, gpu: bool) -> dict:
    module_name, function_name, size_key, extra = CASES[(framework, workload)]
    size = shared.sizes(quick, gpu)[size_key]
    device, sync = "cpu", None
    if gpu:
        device, sync = _gpu_device(framework)
    if framework.startswith("gradzoo"):  # as the gradzoo command does at start-up
        from gradzoo.engine import backend

        backend.keep_freed_memory()
    module = __import__(f"benchmarks.{module_name}", fromlist=[function_name])
    step = getattr(module, function_name)(size, device, **extra)
    warmup, runs, repeat = (QUICK_REPEATS if quick else REPEATS)[workload]
    times = timing.time_runs(step, warmup, runs, repeat, sync)
    result = {"framework": framework, "workload": workload, "device": device,
              "size": shared.describe(size), "times_s": times, "median_s": timing.median(times),
              "peak_rss_mb": timing.peak_rss_mb()}
    if workload == "gpt_step":
        result["tokens_per_s"] = size.tokens / result["median_s"]
    if workload == "matmul":
        result["gflops"] = size.flops / result["median_s"] / 1e9
    if hasattr(step, "first_loss"):  # the loss before any update: both sides compute the same
        result["first_loss"] = step.first_loss
    return result


def _gpu_device(framework: str):
    """The device name each framework uses for the GPU, and how to wait for its queue."""
    if framework.startswith("torch"):
        from benchmarks import torch_side

        return "cuda", torch_side.synchronizer("cuda")
    os.environ["GRADZOO_DEVICE"] = "gpu"
    from gradzoo.engine import backend

    cupy = backend.gpu_module()
    return "gpu", cupy.cuda.Device().synchronize


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("framework")
    parser.add_argument("workloads", nargs="+", metavar="workload")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gpu", action="store_true")
    args = parser.parse_args(argv)
    for workload in args.workloads:
        if (args.framework, workload) not in CASES:
            parser.error(f"no case {args.framework}/{workload}; cases: "
                         + ", ".join("/".join(case) for case in CASES))
    for workload in args.workloads:
        print(json.dumps(run_case(args.framework, workload, args.quick, args.gpu)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
