"""A classification run: ``gradzoo sample`` prints held-out pictures' true and predicted class
with the accuracy, and ``compare`` reports it like any other task.

A tiny test plugin (a task of two 2x2 pictures and a linear classifier) keeps
these tests independent of the zoo's own classification tasks and models.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gradzoo.cli import main
from gradzoo.lab import sampling
from gradzoo.lab.compare.plan import CompareRequest
from gradzoo.lab.compare.session import run_comparison
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import PluginLoader
from tests.plugins.helpers import write_plugin

pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py

CLASSIFICATION_PLUGIN = '''
    from types import SimpleNamespace

    from gradzoo.engine import Tensor, backend, nn
    from gradzoo.engine import functional as F
    from gradzoo.plugins import ModelSpec, TaskSpec, hookimpl

    PICTURES = [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]  # "top" and "bottom", 2x2


    class Halves:
        kind, image_shape, data_dim = "classification", (2, 2), 4
        num_classes, class_names = 2, ("top", "bottom")
        main_metric, higher_is_better = "accuracy", True

        def batch(self, batch_size, step, split="train"):
            rng = backend.new_rng(step + {"train": 0, "valid": 1000, "test": 2000}[split])
            labels = rng.integers(0, 2, size=batch_size)
            images = [PICTURES[label] for label in labels]
            return SimpleNamespace(images=Tensor(images, dtype="float32"),
                                   labels=Tensor(labels.astype("int64")))

        def score(self, model, batches=8, split="valid"):
            right = total = 0
            for step in range(batches):
                batch = self.batch(16, step, split)
                guess = model.classify(batch.images).numpy().argmax(axis=1)
                right += int((guess == batch.labels.numpy()).sum())
                total += len(guess)
            return {"accuracy": right / total, "majority_baseline": 0.5}


    class Linear(nn.Module):
        def __init__(self, task):
            super().__init__()
            self.scores = nn.Linear(task.data_dim, task.num_classes)

        def classify(self, images):
            return self.scores(images)

        def loss(self, batch):
            return F.cross_entropy(self.classify(batch.images), batch.labels)


    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="halves", kind="classification", summary="top or bottom half",
                          make=lambda options, seed: Halves()))


    @hookimpl
    def register_models(register):
        register(ModelSpec(name="linear_halves", summary="a linear classifier",
                           kinds=("classification",), build=lambda task, options: Linear(task)))
'''


@pytest.fixture
def plugins(tmp_path):
    directory = tmp_path / "plugins"
    write_plugin(directory, "halves_plugin", CLASSIFICATION_PLUGIN)
    return directory


def train_run(registry, out, model="linear_halves", task="halves", steps=60):
    training = {"steps": steps, "warmup": 1, "eval_every": 1000, "batch_size": 16, "lr": 0.1}
    experiment = build_experiment(registry, model, task, {}, seed=0, training=training)
    trainer = Trainer(experiment, out, progress=False)
    trainer.start()
    trainer.train()
    return out


def test_sample_prints_true_and_predicted_classes_and_the_accuracy(plugins, tmp_path):
    registry = PluginLoader(plugins_dir=str(plugins)).load()
    run_dir = train_run(registry, tmp_path / "run")
    lines = sampling.sample_run(registry, run_dir, count=6)
    assert lines[0].split() == ["picture", "true", "predicted", "probability"]
    rows = lines[1:-1]
    assert len(rows) == 6
    for index, row in enumerate(rows):
        number, true, predicted, probability = row.split()[:4]
        assert int(number) == index and true in ("top", "bottom") and predicted == true
        assert 0.5 <= float(probability) <= 1.0
    assert lines[-1] == "6 of 6 right: accuracy 100.0%"


def test_the_cli_samples_a_classification_run(plugins, tmp_path):
    registry = PluginLoader(plugins_dir=str(plugins)).load()
    run_dir = train_run(registry, tmp_path / "run", steps=2)
    result = CliRunner().invoke(main, ["--plugins-dir", str(plugins), "sample", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "predicted" in result.output and f"of {sampling.CLASSIFIED_PICTURES} right" \
        in result.output


def test_compare_reports_a_classification_task(plugins, tmp_path):
    registry = PluginLoader(plugins_dir=str(plugins)).load()
    request = CompareRequest(["linear_halves"], "halves", steps=3, out=str(tmp_path / "cmp"),
                             plugins_dir=str(plugins))
    outcome = run_comparison(registry, request, echo=lambda *a: None)
    result, = outcome["results"]
    assert result["status"] == "ok" and result["metric"] == "accuracy"
    assert set(result["scores"]) == {"accuracy", "majority_baseline"}
    assert "accuracy" in (tmp_path / "cmp" / "report.html").read_text()


def test_the_zoo_classifiers_sample_and_compare_on_shape_classes(tmp_path):
    """cnn and mlp on shape_classes: the table names the shapes; compare ranks by accuracy."""
    from gradzoo.plugins.manager import get_registry

    registry = get_registry()
    if "shape_classes" not in registry.tasks or not {"cnn", "mlp"} <= set(registry.models):
        pytest.skip("the zoo's classification task and models are not registered")
    run_dir = train_run(registry, tmp_path / "run", model="cnn", task="shape_classes", steps=2)
    lines = sampling.sample_run(registry, run_dir, count=4)
    assert all(row.split()[1] in ("square", "disc", "cross", "line") for row in lines[1:-1])
    assert re.fullmatch(r"\d of 4 right: accuracy \d+\.\d%", lines[-1])
    request = CompareRequest(["cnn", "mlp"], "shape_classes", steps=2,
                             assignments={"channels": "2", "hidden": "8", "width": "8"},
                             out=str(tmp_path / "cmp"))
    outcome = run_comparison(registry, request, echo=lambda *a: None)
    assert [r["status"] for r in outcome["results"]] == ["ok", "ok"]
    assert {r["metric"] for r in outcome["results"]} == {"accuracy"}
