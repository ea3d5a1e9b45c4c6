"""protocols.py is the one contract: every kind has its protocols, every capability is checked
the same way, and every built-in task and model offers what its kind promises."""

import types

import pytest

from gradzoo.plugins import KINDS, ModelSpec, TaskSpec, protocols
from gradzoo.plugins.manager import USUAL_TASKS, Registry, get_registry


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_protocols_and_methods(kind):
    assert kind in protocols.TASK_PROTOCOLS and kind in protocols.MODEL_PROTOCOLS
    assert protocols.MODEL_METHODS[kind][0] == "loss"
    assert protocols.kind_method(kind) in dir(protocols.MODEL_PROTOCOLS[kind])
    assert kind in USUAL_TASKS


def test_model_methods_are_those_of_the_protocols():
    assert protocols.MODEL_METHODS == {"sequence": ("loss", "predict"),
                                       "language": ("loss", "generate"),
                                       "generative": ("loss", "sample"),
                                       "paired": ("loss", "similarity"),
                                       "classification": ("loss", "classify")}


def test_a_method_capability_is_offered_when_callable():
    gan = types.SimpleNamespace(train_step=lambda batch, optimizer, settings: 0.0,
                                discriminator=None)
    assert protocols.offers(gan, "train_step")
    assert not protocols.offers(gan, "discriminator")  # there, but not a function
    assert not protocols.offers(gan, "log_prob")       # not there at all


def test_bidirectional_is_offered_only_when_true():
    assert protocols.offers(types.SimpleNamespace(bidirectional=True), "bidirectional")
    for value in (False, 1, "yes", None):
        assert not protocols.offers(types.SimpleNamespace(bidirectional=value), "bidirectional")


def test_last_metrics_is_offered_only_when_a_dict():
    assert protocols.offers(types.SimpleNamespace(last_metrics={}), "last_metrics")
    assert not protocols.offers(types.SimpleNamespace(last_metrics=[1.0]), "last_metrics")


def test_an_unknown_capability_fails_loudly_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown capability 'trainstep'") as raised:
        protocols.offers(object(), "trainstep")
    for name in protocols.CAPABILITIES:
        assert name in str(raised.value)


def test_every_capability_says_what_the_lab_does_with_it():
    expected = {"train_step", "last_metrics", "bidirectional", "sample_trajectory", "encode",
                "reconstruct", "log_prob", "discriminator", "fill_in"}
    assert set(protocols.CAPABILITIES) == expected
    for name, capability in protocols.CAPABILITIES.items():
        assert capability.name == name and capability.purpose
        assert capability.owner in ("model", "task")
        assert capability.offered_when in ("callable", "true", "dict")


# ---------------------------------------------------------------------- the example task


def model(name="m", kinds=("sequence",), example_task=""):
    return ModelSpec(name=name, summary="a model", kinds=kinds, build=lambda task, o: None,
                     example_task=example_task)


def registry_of(*tasks):
    found = Registry()
    for name, kind in tasks:
        found.tasks[name] = TaskSpec(name=name, summary="a task", kind=kind,
                                     make=lambda options, seed: None)
    return found


def test_the_model_s_own_example_task_comes_first():
    tasks = registry_of(("copy", "sequence"), ("chars", "language"), ("cloze", "language"))
    assert tasks.example_task(model(kinds=("language",), example_task="cloze")) == "cloze"
    both = model(kinds=("sequence", "language"), example_task="cloze")
    assert tasks.example_task(both) == "cloze"           # of a kind it runs
    assert tasks.example_task(both, "sequence") == "copy"  # not of the kind asked for


def test_else_the_usual_task_of_the_kind_else_the_first_of_that_kind():
    tasks = registry_of(("reverse", "sequence"), ("copy", "sequence"), ("dots", "paired"))
    assert tasks.example_task(model(example_task="missing")) == "copy"
    assert tasks.example_task(model(kinds=("paired",))) == "dots"
    assert tasks.example_task(model(kinds=("generative",))) is None


def test_a_kind_the_model_does_not_run_is_an_error():
    with pytest.raises(ValueError, match="runs sequence tasks, not paired tasks"):
        registry_of(("copy", "sequence")).example_task(model(), "paired")


def test_the_builtin_models_are_shown_on_their_usual_tasks():
    registry = get_registry()
    shown = {name: registry.example_task(spec) for name, spec in registry.models.items()}
    assert shown["gpt"] == "copy" and shown["bert"] == "cloze"
    assert shown["vae"] == "moons" and shown["clip"] == "captions"
    assert shown["cnn"] == "shape_classes" and shown["mlp"] == "shape_classes"


# ---------------------------------------------------------------------- the built-ins


@pytest.mark.parametrize("name", sorted(get_registry().tasks))
def test_builtin_task_follows_its_protocol(name):
    spec = get_registry().task(name)
    if name in ("images", "labelled_images"):
        pytest.skip("needs a file of the user's images (tested in tests/zoo)")
    task = spec.make(spec.defaults(), 0)
    assert isinstance(task, protocols.TASK_PROTOCOLS[spec.kind]), f"{name} lacks its protocol"


@pytest.mark.parametrize("name", sorted(get_registry().models))
def test_builtin_model_follows_its_protocol(name):
    registry = get_registry()
    spec = registry.model(name)
    task_spec = registry.task(registry.example_task(spec))
    built = spec.build(task_spec.make(task_spec.defaults(), 0), spec.defaults())
    assert isinstance(built, protocols.MODEL_PROTOCOLS[spec.kinds[0]]), f"{name} lacks its protocol"


# ---------------------------------------------------------------------- every kind, everywhere


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_named_by_the_hooks_and_the_new_plugin_command(kind):
    from gradzoo.cli import main
    from gradzoo.plugins import hookspecs

    assert f'"{kind}"' in hookspecs.register_models.__doc__
    assert f'"{kind}"' in hookspecs.register_tasks.__doc__
    kind_option = next(p for p in main.commands["new-plugin"].params if p.name == "kind")
    assert tuple(kind_option.type.choices) == KINDS
