"""Every file the lab writes gets the permissions of any new file of the user: 0o666 & ~umask."""

import os
import stat
import sys
from contextlib import contextmanager

import pytest

from gradzoo.engine import io
from gradzoo.lab.compare import plots
from gradzoo.lab.training import runs
from gradzoo.lab.training.loop import Trainer
from tests.lab.test_train import tiny_experiment

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")

RUN_FILES = (runs.CONFIG, runs.METRICS, runs.MODEL, runs.OPTIMIZER, runs.STATE)


@contextmanager
def umask(mask: int):
    """The process's umask set to ``mask`` inside the block, then put back."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_run_directory_gets_the_users_usual_permissions(tmp_path, mask, expected):
    with umask(mask):
        trainer = Trainer(tiny_experiment(steps=4), tmp_path / "run", progress=False)
        trainer.start()
        trainer.train()
    assert {name: mode(tmp_path / "run" / name) for name in RUN_FILES} == \
        {name: expected for name in RUN_FILES}


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600)])
def test_the_plots_of_a_comparison_get_the_users_usual_permissions(tmp_path, mask, expected):
    rows = [{"model": "rnn", "sweep_value": None, "loss_curve": [(1, 2.0), (2, 1.0)]}]
    with umask(mask):
        plot = plots.loss_curves(tmp_path, rows, None)
    assert {mode(plot["png"]), mode(plot["svg"])} == {expected}


def test_write_atomically_replaces_a_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "notes.txt"
    io.write_atomically(target, "old")
    io.write_atomically(target, b"new")
    assert target.read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
