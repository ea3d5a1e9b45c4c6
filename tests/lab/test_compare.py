"""``gradzoo compare``: same data for every model, every number reported, failures contained."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradzoo import cli
from gradzoo.lab.compare.plan import CompareRequest, plan
from gradzoo.lab.compare.session import run_comparison
from gradzoo.plugins.manager import get_registry

TINY = {"width": "16", "heads": "2", "layers": "1"}
JOB_FIELDS = {"model", "task", "seed", "sweep_value", "status", "parameters", "seconds_per_step",
              "tokens_per_second", "train_loss", "valid_loss", "metric", "score", "scores",
              "peak_memory_mb", "sequential_depth", "sequence_length", "loss_curve", "device"}


def small_compare(out, jobs=1, models=("gpt", "lstm"), plugins_dir=None):
    assignments = {**TINY, **({"hidden": "16"} if "lstm" in models else {})}
    request = CompareRequest(list(models), "remember", steps=6, sweep_option="distance",
                             sweep_values=["2", "5"], assignments=assignments, jobs=jobs,
                             out=str(out), plugins_dir=plugins_dir)
    registry = get_registry(plugins_dir=plugins_dir, reload=plugins_dir is not None)
    return run_comparison(registry, request, echo=lambda *a: None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return out, small_compare(out)


def test_results_json_holds_every_number(finished):
    out, _ = finished
    data = json.loads((out / "results.json").read_text())
    assert {"gradzoo", "python", "numpy", "cpu_count", "platform"} <= set(data["machine"])
    assert len(data["jobs"]) == 4
    for job in data["jobs"]:
        assert job["status"] == "ok"
        assert JOB_FIELDS <= set(job), JOB_FIELDS - set(job)
        assert job["parameters"] > 0 and job["seconds_per_step"] > 0
    assert {(r["model"], r["sweep_value"]) for r in data["summary"]} == {
        (m, v) for m in ("gpt", "lstm") for v in ("2", "5")}


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [value for name, value in attrs if name in ("src", "href") and value]


def test_report_parses_and_references_only_what_exists(finished):
    out, outcome = finished
    page = (out / "report.html").read_text()
    parser = _References()
    parser.feed(page)
    assert parser.tags.count("img") >= 3  # loss curves, score, speed and depth
    for source in parser.sources:
        assert source.startswith("data:") or (out / source).exists(), source
    for path in outcome["written"]["plots"]:
        assert Path(path).stat().st_size > 1000
    assert "distance = 2" in outcome["tables"] and "exact_match" in outcome["tables"]


def test_jobs_2_gives_the_numbers_of_jobs_1(finished, tmp_path):
    _, first = finished
    second = small_compare(tmp_path, jobs=2)
    keys = ("train_loss", "valid_loss", "score", "parameters", "sequential_depth")
    for a, b in zip(first["results"], second["results"]):
        assert [a[k] for k in keys] == [b[k] for k in keys]
        assert a["loss_curve"] == b["loss_curve"]


def test_sequential_depth_grows_with_length_for_rnn_not_for_transformer(tmp_path):
    registry = get_registry()
    depth = {}
    for model in ("rnn", "transformer"):
        for length in (4, 8, 16):
            from gradzoo.lab.compare.workers import measure_depth
            from gradzoo.lab.training.experiment import build_experiment

            experiment = build_experiment(registry, model, "copy", {"length": length, **(
                {"hidden": "8"} if model == "rnn" else {"width": "8", "heads": "2"})})
            depth[model, length] = measure_depth(experiment)[0]
    rnn = [depth["rnn", n] for n in (4, 8, 16)]
    assert rnn[2] - rnn[1] == 2 * (rnn[1] - rnn[0]) > 0      # linear in the length
    assert len({depth["transformer", n] for n in (4, 8, 16)}) == 1  # constant


BROKEN = '''
from gradzoo.plugins import ModelSpec, hookimpl
from gradzoo.zoo.models.gpt import build as build_gpt


def build(task, options):
    model = build_gpt(task, {"layers": 1, "heads": 2, "width": 8, "dropout": 0.0})
    def loss(batch):
        raise RuntimeError("this model is broken on purpose")
    model.loss = loss
    return model


@hookimpl
def register_models(register):
    register(ModelSpec(name="broken", summary="fails in loss", kinds=("sequence",), build=build))
'''


def test_a_failing_model_is_reported_and_the_others_finish(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken_model.py").write_text(BROKEN)
    outcome = small_compare(tmp_path / "out", models=("broken", "gpt"), plugins_dir=str(plugins))
    status = {(r["model"], r["sweep_value"]): r["status"] for r in outcome["results"]}
    assert status == {("broken", "2"): "failed", ("broken", "5"): "failed",
                      ("gpt", "2"): "ok", ("gpt", "5"): "ok"}
    assert "broken on purpose" in outcome["tables"]
    get_registry(reload=True)


def test_resume_keeps_finished_runs(tmp_path, finished):
    out, _ = finished
    request = CompareRequest(["gpt", "lstm"], "remember", steps=6, sweep_option="distance",
                             sweep_values=["2", "5"], assignments={**TINY, "hidden": "16"},
                             out=str(out))
    messages = []
    run_comparison(get_registry(), request, resume=True, echo=messages.append)
    assert sum("done earlier" in m for m in messages) == 4


def test_plan_refuses_unknown_options_before_training(tmp_path):
    request = CompareRequest(["gpt", "lstm"], "remember", sweep_option="distanse",
                             sweep_values=["2"], out=str(tmp_path))
    from gradzoo.lab.errors import UsageError

    with pytest.raises(UsageError, match="distance"):
        plan(get_registry(), request)


def test_cli_errors_are_one_line_with_exit_2(tmp_path):
    runner = CliRunner()
    cli.forget_plugins()
    result = runner.invoke(cli.main, ["compare", "gpt", "--task", "remember", "--sweep",
                                      "distance", "--out", str(tmp_path)])
    assert result.exit_code == 2 and re.search(r"Error: --sweep .*OPTION=V1,V2", result.output)
    result = runner.invoke(cli.main, ["compare", "gpt", "--task", "remember", "--set",
                                      "widht=3", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean 'width'" in result.output
    result = runner.invoke(cli.main, ["compare", "gpt", "vae", "--task", "remember",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_generative_compare_shows_each_models_samples_side_by_side(tmp_path):
    request = CompareRequest(["vae", "flow"], "moons", steps=5, out=str(tmp_path))
    outcome = run_comparison(get_registry(), request, echo=lambda *a: None)
    assert all(r["metric"] == "energy_distance" for r in outcome["results"])
    assert (tmp_path / "samples.png").stat().st_size > 1000
    page = (tmp_path / "report.html").read_text()
    assert "Samples, one panel per model" in page and "energy_distance" in page
    assert "Gaussian baseline" in outcome["tables"] and "fresh data" in page


def test_match_params_brings_parameter_counts_within_ten_percent(tmp_path):
    from gradzoo.lab.training.experiment import build_experiment, count_parameters

    request = CompareRequest(["rnn", "gpt", "lstm"], "copy", match_params=True,
                             assignments={"task.length": "4"}, out=str(tmp_path))
    jobs = plan(get_registry(), request)
    counts = {job.model: count_parameters(build_experiment(
        get_registry(), job.model, "copy", {f"model.{k}": v for k, v in job.model_options.items()}
        | {"task.length": "4"}).model) for job in jobs}
    target = counts["rnn"]
    assert all(abs(count - target) <= 0.1 * target for count in counts.values()), counts
    assert jobs[1].model_options["width"] != 64  # gpt was resized from its default


def picture_result(model, seed, nn, frechet):
    """A finished job on an image task, as a worker reports it (only what the tables read)."""
    references = {"gaussian_baseline": 0.9 + seed / 100, "data_floor": 0.5,
                  "frechet_distance_gaussian": 900.0 + seed, "frechet_distance_data": 1.0,
                  "class_mix_gap_gaussian": 23.0, "class_mix_gap_data": 3.0,
                  "grey_share_gaussian": 0.37, "grey_share_data": 0.0}
    scores = {"nn_accuracy": nn, "gaussian_baseline": references.pop("gaussian_baseline"),
              "data_floor": references.pop("data_floor"), "frechet_distance": frechet,
              "class_mix_gap": 5.0, "grey_share": 0.25, **references,
              "class_share_square": 0.25, "judge_accuracy": 0.99}
    return {"model": model, "seed": seed, "sweep_value": None, "status": "ok",
            "metric": "nn_accuracy", "higher_is_better": False, "score": nn, "scores": scores,
            "loss_curve": [(1, 1.0)], "parameters": 10}


def test_an_image_compare_shows_picture_scores_beside_the_gaussian_and_fresh_data():
    from gradzoo.lab.compare import report

    results = [picture_result("vae", 0, 0.70, 40.0), picture_result("vae", 1, 0.72, 60.0),
               picture_result("diffusion", 0, 0.56, 8.0),
               picture_result("diffusion", 1, 0.58, 12.0)]
    text = report.terminal_tables(None, report.aggregate(results))
    table = text.split("samples scored beside")[1]
    header = next(line for line in table.splitlines() if line.startswith("model"))
    assert header.split() == ["model", "nn_accuracy", "frechet_distance", "class_mix_gap",
                              "grey_share"]
    rows = {line.split("  ")[0]: line for line in table.splitlines()}
    assert "0.71 ±0.01" in rows["vae"] and "50 ±10" in rows["vae"]
    assert "0.57 ±0.01" in rows["diffusion"] and "10 ±2" in rows["diffusion"]
    # each seed counted once, however many models ran it: 900 and 901, 0.90 and 0.91
    assert "0.905 ±0.005" in rows["Gaussian baseline"] and "900.5 ±0.5" in rows[
        "Gaussian baseline"]
    assert rows["fresh data"].split()[2:] == ["0.5", "1", "3", "0"]


def test_one_runs_picture_scores_print_beside_their_references_and_others_as_before():
    from gradzoo.lab.compare import report

    lines = report.score_lines(picture_result("vae", 0, 0.7, 40.0)["scores"])
    assert lines[0].split() == ["score", "model", "Gaussian", "fresh", "data"]
    assert lines[3].split() == ["frechet_distance", "40", "900", "1"]
    assert "square 25%" in lines[-2] and "99.0%" in lines[-1]
    assert report.score_lines({"accuracy": 0.9, "exact_match": 0.5}) == []


def test_other_tasks_get_no_table_of_references(finished):
    _, outcome = finished
    assert "Gaussian baseline" not in outcome["tables"]
