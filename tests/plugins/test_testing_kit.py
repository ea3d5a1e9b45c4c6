"""The conformance kit: every built-in model passes it, and each flaw fails the check it should.

A flawed model is the tiny ``Flawed`` bigram below with one thing broken; the
test asserts which check fails first and that its message says what to do.
"""

from __future__ import annotations

import random
import sys
import types

import pytest
from click.testing import CliRunner

from gradzoo.engine import Function, Parameter, Tensor, backend, nn
from gradzoo.engine import functional as F
from gradzoo.plugins import ModelSpec, Option, TaskSpec, hookimpl
from gradzoo.plugins.manager import PluginError, PluginLoader, get_registry
from gradzoo.plugins.testing import (
    CHECK_NAMES,
    ConformanceError,
    check_model,
    conformance_cases,
    plugin_fixture,
    temporary_plugin,
)
from tests.plugins.helpers import PLUGIN_ENV


@pytest.fixture(autouse=True)
def no_plugin_environment(monkeypatch):
    for name in PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------- every built-in model


BUILTIN_MODELS = sorted(PluginLoader(environ={"GRADZOO_LOAD_PLUGINS": ""}).load().models)


@pytest.mark.parametrize("model", BUILTIN_MODELS)
def test_every_builtin_model_passes_the_kit(model):
    report = check_model(model)
    assert report.passed
    assert {r.check for r in report.results} == set(CHECK_NAMES)


@pytest.mark.parametrize("model", ["gpt", "vae"])
def test_the_kit_runs_on_every_device(model, device):
    """The same checks pass on the GPU code path (CuPy, or its stand-in)."""
    assert check_model(model, task="copy" if model == "gpt" else "moons").passed


def test_a_sequence_model_is_checked_on_each_kind_it_claims():
    report = check_model("gpt", checks=["causal"])
    assert [(r.task, r.status) for r in report.results] == [("copy", "passed"),
                                                            ("chars", "passed"),
                                                            ("doc_topics", "skipped")]


def test_the_transformer_skips_the_look_ahead_check_and_says_why():
    (result,) = check_model("transformer", checks=["causal"]).results
    assert result.status == "skipped" and "decoder-only" in result.detail


def test_conformance_cases_give_one_pytest_case_per_check():
    cases = conformance_cases("rnn", task="copy")
    assert [str(case) for case in cases] == [f"rnn-{name}" for name in CHECK_NAMES]
    assert cases[3].run().results[-1].check == "gradients"


def test_unknown_checks_tasks_and_kinds_are_usage_errors():
    with pytest.raises(ValueError, match="unknown check"):
        check_model("rnn", checks=["speed"])
    with pytest.raises(ValueError, match="runs sequence tasks; task 'moons' is a generative"):
        check_model("transformer", task="moons")
    with pytest.raises(KeyError, match="unknown model 'nonesuch'"):
        check_model("nonesuch")


# ---------------------------------------------------------------------- flawed models


class WrongSquare(Function):
    """x^2 with a backward that forgot the factor 2."""

    def forward(self, x):
        return x * x

    def backward(self, grad):
        return (grad * self.inputs[0].data,)


class Flawed(nn.Module):
    """A bigram (embedding -> linear) with one flaw switched on by name."""

    def __init__(self, task, flaw: str):
        super().__init__()
        self.flaw, self.task = flaw, task
        vocab = task.vocab_size
        self.embedding = nn.Embedding(vocab, 8)
        self.head = nn.Linear(8, vocab)
        if flaw == "unused_layer":
            self.unused = nn.Linear(8, 8)
        if flaw == "unseeded_init":
            self.embedding.weight.data[...] = backend.make_array(
                [[random.random() for _ in range(8)] for _ in range(vocab)])
        if flaw == "plain_attribute":  # learned-looking state kept outside state_dict
            self.temperature = Tensor(backend.host_rng().uniform(0.5, 2.0, size=(vocab,)))

    def forward(self, tokens):
        x = self.embedding(tokens)
        if self.flaw == "wrong_backward":
            x = WrongSquare.apply(x)
        logits = self.head(x)
        if self.flaw == "looks_ahead":  # adds the logits of the NEXT position
            logits = logits + F.concat([logits[:, 1:], logits[:, -1:]], dim=1)
        if self.flaw == "plain_attribute":
            logits = logits * self.temperature
        return logits

    def loss(self, batch):
        inputs, labels = batch.stream()
        if self.flaw == "loss_is_a_leaf":
            return self.only
        loss = F.cross_entropy(self(inputs), labels, ignore_index=-100)
        if self.flaw == "per_example_loss":
            return loss * Tensor([1.0, 1.0, 1.0, 1.0])
        return loss

    def predict(self, source):
        xp = backend.xp_of(source.data)
        return Tensor(xp.zeros((source.shape[0], self.task.target_length), dtype="int64"))


class LeafLoss(Flawed):
    """A 'model' whose loss is a parameter itself: no op, so nothing to draw."""

    def __init__(self, task, flaw):
        nn.Module.__init__(self)
        self.flaw, self.task = flaw, task
        self.only = Parameter(backend.make_array(1.0))


def flawed_spec(flaw: str, **fields) -> ModelSpec:
    def build(task, options):
        if flaw == "not_a_module":
            return {"weights": []}
        return (LeafLoss if flaw == "loss_is_a_leaf" else Flawed)(task, flaw)

    values = dict(name="flawed", summary="a bigram with a flaw", kinds=("sequence",),
                  build=build, options=(Option("size", 8, "table width", min=1),))
    return ModelSpec(**{**values, **fields})


FLAWS = [  # flaw, the check that catches it, words its message must contain
    ("no_help", "spec", "has no help text"),
    ("not_a_module", "build", "must return an nn.Module"),
    ("unseeded_init", "build", "same seed gave different weights"),
    ("per_example_loss", "shapes", "must be a scalar"),
    ("unused_layer", "gradients", "no gradient reached unused.weight, unused.bias"),
    ("wrong_backward", "gradcheck", "disagrees with finite differences for embedding.weight"),
    ("looks_ahead", "causal", "the model looks ahead"),
    ("tiny_lr", "learns", "the loss did not fall"),
    ("plain_attribute", "save_load", "not in state_dict()"),
    ("loss_is_a_leaf", "graph", "the drawn graph has no ops"),
]


@pytest.mark.parametrize("flaw, check, words", FLAWS, ids=[f[0] for f in FLAWS])
def test_each_flaw_fails_its_check_with_an_actionable_message(flaw, check, words):
    fields = {"no_help": {"options": (Option("size", 8),)},  # an option without help text
              "tiny_lr": {"training": {"lr": 1e-9}}}.get(flaw, {})
    with pytest.raises(ConformanceError) as caught:
        check_model(flawed_spec(flaw, **fields), task="copy")
    first = caught.value.report.failures[0]
    assert (first.check, first.task) == (check, "copy"), str(caught.value)
    assert words in first.detail
    assert f"- {check} (on task copy): " in str(caught.value)


def test_the_flaws_cover_every_check():
    assert {check for _, check, _ in FLAWS} == set(CHECK_NAMES) - {"setup"}


def test_a_crash_names_the_line_of_plugin_code_that_raised():
    def build(task, options):
        raise RuntimeError("no weights for you")

    report = check_model(flawed_spec("x", build=build), task="copy", raise_on_failure=False)
    (failure,) = report.failures
    assert failure.check == "build"
    assert "RuntimeError: no weights for you (at " in failure.detail
    assert "test_testing_kit.py" in failure.detail and "in build" in failure.detail


# ---------------------------------------------------------------------- a generative plugin


class PointCloud:
    """A tiny generative task of its own: 2-D points around (1, -1)."""

    kind, main_metric, higher_is_better, data_dim = "generative", "spread", False, 2

    def __init__(self, seed):
        self.seed = seed

    def batch(self, batch_size, step, split="train"):
        rng = backend.new_rng([self.seed, step, len(split)])
        values = rng.standard_normal((batch_size, 2)) * 0.3 + [1.0, -1.0]
        return types.SimpleNamespace(flat=Tensor(values), __len__=lambda: batch_size)

    def score(self, model, batches=8, split="valid"):
        return {"spread": 0.0}


class Gaussian(nn.Module):
    """A diagonal Gaussian fitted by maximum likelihood."""

    def __init__(self):
        super().__init__()
        self.mean = nn.init.new_parameter(2)
        self.log_std = nn.init.new_parameter(2)

    def loss(self, batch):
        z = (batch.flat - self.mean) / self.log_std.exp()
        return (0.5 * z * z + self.log_std).sum(dim=1).mean()

    def sample(self, n):
        eps = Tensor(backend.random_normal((n, 2), self.mean.device))
        return self.mean + self.log_std.exp() * eps


def generative_plugin():
    plugin = types.ModuleType("tiny_generative_plugin")

    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="cloud", kind="generative", summary="points around (1, -1)",
                          make=lambda options, seed: PointCloud(seed)))

    @hookimpl
    def register_models(register):
        register(ModelSpec(name="blob", kinds=("generative",), summary="a Gaussian fit",
                           build=lambda task, options: Gaussian(), training={"lr": 0.05}))

    plugin.register_tasks, plugin.register_models = register_tasks, register_models
    return plugin


def test_a_generative_model_on_a_task_of_its_own_plugin_passes():
    with temporary_plugin(generative_plugin()):
        report = check_model("blob", task="cloud")
    statuses = {r.check: r.status for r in report.results}
    assert statuses.pop("causal") == "skipped"
    assert set(statuses.values()) == {"passed"}


# ---------------------------------------------------------------------- temporary_plugin


def test_temporary_plugin_registers_for_the_block_only_even_when_it_raises():
    from gradzoo.cli import forget_plugins, main

    forget_plugins()
    with pytest.raises(RuntimeError, match="inside"):
        with temporary_plugin(generative_plugin(), name="tiny") as registry:
            assert "blob" in registry.models and registry.plugin_of("model", "blob") == "tiny"
            listed = CliRunner().invoke(main, ["list"])
            assert "blob" in listed.output and "cloud" in listed.output
            raise RuntimeError("inside the block")
    assert "blob" not in get_registry().models and "tiny" not in get_registry().plugins
    assert "blob" not in CliRunner().invoke(main, ["list"]).output
    forget_plugins()


def test_temporary_plugin_of_an_already_loaded_module_is_quietly_a_no_op(capsys):
    module = sys.modules["gradzoo.zoo.models.gpt"]
    with temporary_plugin(module) as registry:
        assert registry.plugin_of("model", "gpt") == "gradzoo.zoo.models.gpt"
    assert "warning" not in capsys.readouterr().err


def test_temporary_plugin_raises_when_the_plugin_fails():
    class Broken:
        @hookimpl
        def register_models(self, register):
            raise ZeroDivisionError("division by zero")

    plugin = Broken()
    with pytest.raises(PluginError, match="failed to load: ZeroDivisionError"):
        with temporary_plugin(plugin, name="broken"):
            pass
    assert "broken" not in get_registry().plugins


tiny_generative = plugin_fixture(generative_plugin(), name="tiny_generative")


def test_plugin_fixture_registers_the_plugin_for_the_test(tiny_generative):
    assert tiny_generative.plugin_of("model", "blob") == "tiny_generative"
    assert get_registry().plugin_of("task", "cloud") == "tiny_generative"


def test_and_unregisters_it_afterwards():
    assert "cloud" not in get_registry().tasks
