"""The benchmarks run: ``python -m benchmarks --quick`` writes its table and its JSON.

Only that they run is tested here, never how fast: timings belong to
``make bench`` (docs/performance.md), not to a test suite on a shared machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_quick_run_writes_its_table_and_json(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "quick-cpu.json").read_text(encoding="utf-8"))
    table = (tmp_path / "quick-cpu.md").read_text(encoding="utf-8")
    assert set(summary["results"]) == {"gpt_step", "lstm_step", "op_overhead", "matmul",
                                       "unet_step"}
    for workload, frameworks in summary["results"].items():
        ours = frameworks["gradzoo"]
        assert "error" not in ours, (workload, ours)
        assert ours["median_s"] > 0 and len(ours["times_s"]) >= 1
    assert "W1 GPT step vs PyTorch" in table and "W4" in table and "start-up" in table
    assert summary["machine"]["cores"] and "load_average_before" in summary
    rows = {row["what"]: row for row in summary["table"]}
    assert rows["W1 GPT step vs its NumPy matmul floor"]["ratio"] > 0


def test_the_worker_refuses_an_unknown_case():
    done = subprocess.run([sys.executable, "-m", "benchmarks.worker", "gradzoo", "no_such"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no case gradzoo/no_such" in done.stderr
