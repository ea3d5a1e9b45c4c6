"""A paired run (clip on captions): ``gradzoo sample`` draws its pictures, ``evaluate`` prints
its scores, and ``compare`` reports it like any other task."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo.cli import main
from gradzoo.lab import sampling
from gradzoo.lab.compare.plan import CompareRequest
from gradzoo.lab.compare.session import run_comparison
from gradzoo.lab.training.experiment import build_experiment
from gradzoo.lab.training.loop import Trainer
from gradzoo.plugins.manager import get_registry
from tests.lab.test_pictures import png_size

TINY = {"hidden": 16, "width": 8, "heads": 2, "layers": 1, "embedding": 8, "size": 8}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip") / "run"
    training = {"steps": 3, "warmup": 1, "eval_every": 1000, "batch_size": 16}
    experiment = build_experiment(get_registry(), "clip", "captions", TINY, seed=0,
                                  training=training)
    trainer = Trainer(experiment, out, progress=False)
    trainer.start()
    trainer.train()
    return out


def test_sample_draws_captions_and_the_similarity_matrix(run_dir):
    lines = sampling.sample_run(get_registry(), run_dir, count=5)
    paths = [Path(line.split("  (")[0]) for line in lines[:2]]
    assert [p.name for p in paths] == ["captions.png", "similarity.png"]
    for path in paths:
        assert path.parent == run_dir / "samples"
        width, height = png_size(path)
        assert width > 300 and height > 200
    assert not list((run_dir / "samples").glob(".*"))  # no temporary file left behind
    table = lines[3:]
    assert len(table) == 6 and all(line.startswith(("ok", "WRONG")) for line in table[:5])
    assert table[-1].endswith("of 5 pictures: the most similar caption is the true one")


def test_the_cli_samples_and_evaluates_a_paired_run(run_dir):
    runner = CliRunner()
    result = runner.invoke(main, ["sample", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "similarity.png  (cosine similarities of 8 test pictures" in result.output
    result = runner.invoke(main, ["evaluate", str(run_dir), "--batches", "2"])
    assert result.exit_code == 0, result.output
    for name in ("recall_at_1", "chance_recall_at_1", "shape_accuracy", "chance_place"):
        assert name in result.output


def test_compare_reports_a_paired_task(tmp_path):
    assignments = {key: str(value) for key, value in TINY.items()}
    request = CompareRequest(["clip"], "captions", steps=3, assignments=assignments,
                             out=str(tmp_path))
    outcome = run_comparison(get_registry(), request, echo=lambda *a: None)
    result, = outcome["results"]
    assert result["status"] == "ok" and result["metric"] == "recall_at_1"
    assert "recall_at_1" in (tmp_path / "report.html").read_text()
