"""The training loop: schedule, checkpoints, Ctrl-C, resume and a diverging loss."""

import json
import math
import signal

import numpy as np
import pytest

from gradzoo.lab.errors import RunError
from gradzoo.lab.training import runs
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer, TrainingStopped
from gradzoo.lab.training.settings import TrainSettings, learning_rate
from gradzoo.plugins.manager import get_registry

TINY = {"width": 16, "layers": 1, "heads": 2, "length": 3}


def tiny_experiment(steps=12, dropout=0.0):
    settings = {"steps": steps, "lr": 1e-2, "warmup": 3, "eval_every": 4, "log_every": 2}
    return build_experiment(get_registry(), "gpt", "reverse", {**TINY, "dropout": dropout},
                            seed=1, training=settings)


def weights(model):
    return {name: t.numpy() for name, t in model.state_dict().items()}


def test_learning_rate_warms_up_then_decays_on_a_cosine():
    settings = TrainSettings(steps=110, lr=1.0, warmup=10, min_lr_ratio=0.1)
    assert learning_rate(5, settings) == pytest.approx(0.5)
    assert learning_rate(10, settings) == pytest.approx(1.0)
    assert learning_rate(60, settings) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way: cos = 0
    assert learning_rate(110, settings) == pytest.approx(0.1)


def test_a_run_writes_its_directory(tmp_path):
    trainer = Trainer(tiny_experiment(), tmp_path, progress=False)
    trainer.start()
    trainer.train()
    config = json.loads((tmp_path / runs.CONFIG).read_text())
    assert config["model"] == "gpt" and config["task"] == "reverse" and config["seed"] == 1
    assert config["task_options"] == {"length": 3}
    metrics = runs.read_metrics(tmp_path)
    assert [m["step"] for m in metrics if "loss" in m] == [2, 4, 6, 8, 10, 12]
    assert [m["step"] for m in metrics if "eval_exact_match" in m] == [4, 8, 12]
    assert json.loads((tmp_path / runs.STATE).read_text())["step"] == 12
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


def interrupt_at(trainer, stop_step):
    """Send ourselves SIGINT (Ctrl-C) during ``stop_step``, as a user would."""
    original = trainer._train_step

    def step_then_interrupt(batch, lr):
        loss = original(batch, lr)
        if trainer.step + 1 == stop_step:
            signal.raise_signal(signal.SIGINT)
        return loss

    trainer._train_step = step_then_interrupt


def test_ctrl_c_saves_a_checkpoint_and_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    straight = Trainer(tiny_experiment(dropout=0.1), tmp_path / "straight", progress=False)
    straight.start()
    straight.train()

    first = Trainer(tiny_experiment(dropout=0.1), tmp_path / "cut", progress=False)
    first.start()
    interrupt_at(first, 7)
    with pytest.raises(TrainingStopped) as stopped:
        first.train()
    assert stopped.value.exit_code == 130 and stopped.value.step == 7
    assert json.loads((tmp_path / "cut" / runs.STATE).read_text())["step"] == 7

    second = Trainer(tiny_experiment(dropout=0.1), tmp_path / "cut", progress=False)
    second.resume()
    assert second.step == 7
    second.train()
    for name, value in weights(straight.model).items():
        np.testing.assert_array_equal(weights(second.model)[name], value, err_msg=name)
    losses = [m["loss"] for m in runs.read_metrics(tmp_path / "straight") if "loss" in m]
    resumed = [m["loss"] for m in runs.read_metrics(tmp_path / "cut") if "loss" in m]
    assert resumed == losses


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    experiment = tiny_experiment()
    trainer = Trainer(experiment, tmp_path, progress=False)
    trainer.start()
    original = experiment.model.loss

    def loss_that_diverges(batch):
        loss = original(batch)
        return loss * math.nan if trainer.step + 1 == 6 else loss

    experiment.model.loss = loss_that_diverges
    with pytest.raises(TrainingStopped, match="at step 6") as stopped:
        trainer.train()
    assert stopped.value.exit_code == 1
    assert "checkpoint (step 4)" in str(stopped.value)
    reopened = tiny_experiment()
    state = runs.load_checkpoint(tmp_path, reopened.model)
    assert state["step"] == 4
    assert all(np.isfinite(w).all() for w in weights(reopened.model).values())


def test_a_checkpoint_cut_off_mid_write_is_refused(tmp_path):
    trainer = Trainer(tiny_experiment(steps=4), tmp_path, progress=False)
    trainer.start()
    trainer.train()
    state = json.loads((tmp_path / runs.STATE).read_text())
    runs.write_json(tmp_path / runs.STATE, {**state, "step": 8})  # weights still from step 4
    with pytest.raises(RunError, match="cut off"):
        runs.load_checkpoint(tmp_path, tiny_experiment().model)
    (tmp_path / runs.MODEL).write_bytes(b"not a safetensors file")
    with pytest.raises(RunError, match=runs.MODEL):
        runs.load_checkpoint(tmp_path, tiny_experiment().model)
