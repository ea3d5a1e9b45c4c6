"""Speed and memory of gradzoo against PyTorch (CPU, and CUDA with ``--gpu``).

Run ``python -m benchmarks`` (or ``make bench``); see docs/performance.md for
the workloads, the targets and the figures measured.
"""
