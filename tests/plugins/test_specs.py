"""ModelSpec, TaskSpec and Option: what a plugin registers, and how option values are checked.

A spec is checked when it is made, so a plugin's mistake (an uppercase name, an
unknown kind, a default outside its own range) is reported by the plugin that
made it. Option values from the command line are strings: ``Option.parse``
turns them into the option's type and says what is allowed when it cannot.
"""

from __future__ import annotations

import dataclasses

import pytest

from gradzoo.plugins import KINDS, ModelSpec, Option, SpecError, TaskSpec
from gradzoo.plugins.specs import TRAINING_KEYS, did_you_mean


def build(task, options):
    return None


def make(options, seed):
    return None


def model(**changes) -> ModelSpec:
    fields = dict(name="tiny", summary="a tiny model", kinds=("sequence",), build=build,
                  options=(Option("width", 8, "units", min=1, max=64),
                           Option("dropout", 0.0, "probability", min=0.0, max=0.9),
                           Option("bias", True, "use biases"),
                           Option("cell", "tanh", "nonlinearity", choices=("tanh", "relu"))))
    fields.update(changes)
    return ModelSpec(**fields)


def task(**changes) -> TaskSpec:
    fields = dict(name="puzzle", summary="a puzzle", kind="sequence", make=make,
                  options=(Option("length", 4, "digits", min=1, max=32),))
    fields.update(changes)
    return TaskSpec(**fields)


# ---------------------------------------------------------------------- Option


@pytest.mark.parametrize("option, text, expected", [
    (Option("n", 3), "7", 7),
    (Option("n", 3), 7.0, 7),
    (Option("x", 0.5), "1e-3", 1e-3),
    (Option("x", 0.5), "2", 2.0),
    (Option("s", "a"), "hello", "hello"),
    (Option("b", False), "true", True),
    (Option("b", False), "Yes", True),
    (Option("b", True), "0", False),
    (Option("b", True), "off", False),
    (Option("c", "tanh", choices=("tanh", "relu")), "relu", "relu"),
    (Option("n", 3, min=1, max=5), "5", 5),
])
def test_option_parses_command_line_text_into_its_type(option, text, expected):
    value = option.parse(text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("option, text, allowed", [
    (Option("width", 8, min=1), "abc", "an integer >= 1"),
    (Option("width", 8, min=1), "1.5", "an integer >= 1"),
    (Option("width", 8, min=1), True, "an integer >= 1"),
    (Option("width", 8, min=1), "0", "an integer >= 1"),
    (Option("rate", 0.1, min=0.0, max=0.9), "0.95", "a number from 0.0 to 0.9"),
    (Option("rate", 0.1, max=0.9), "fast", "a number <= 0.9"),
    (Option("flag", False), "maybe", "true or false"),
    (Option("cell", "tanh", choices=("tanh", "relu")), "gelu", "one of: tanh, relu"),
])
def test_a_bad_value_names_the_option_what_is_allowed_and_what_was_given(option, text, allowed):
    with pytest.raises(SpecError) as caught:
        option.parse(text, owner="model 'tiny'")
    message = str(caught.value)
    assert f"option '{option.name}' of model 'tiny'" in message
    assert allowed in message
    assert repr(text) in message


def test_option_type_comes_from_the_default_unless_given():
    assert Option("n", 3).value_type is int
    assert Option("path", None, type=str).value_type is str
    assert Option("path", None, type=str).parse("a.txt") == "a.txt"


@pytest.mark.parametrize("option, words", [
    (Option("n", 1), "an integer"),
    (Option("x", 1.0, min=0.0), "a number >= 0.0"),
    (Option("x", 1.0, max=2.0), "a number <= 2.0"),
    (Option("n", 1, min=1, max=9), "an integer from 1 to 9"),
    (Option("b", True), "true or false"),
    (Option("s", "x"), "a string"),
    (Option("s", "a", choices=("a", "b")), "one of: a, b"),
])
def test_describe_says_what_is_allowed_in_words(option, words):
    assert option.describe() == words


# ---------------------------------------------------------------------- ModelSpec, TaskSpec


def test_a_valid_model_spec_keeps_its_fields():
    spec = model(kinds=["sequence", "language"], training={"steps": 10, "lr": 0.01})
    assert spec.name == "tiny" and spec.summary == "a tiny model"
    assert spec.kinds == ("sequence", "language")  # a list becomes a tuple
    assert spec.build is build
    assert spec.training == {"steps": 10, "lr": 0.01}
    assert [o.name for o in spec.options] == ["width", "dropout", "bias", "cell"]


def test_a_valid_task_spec_keeps_its_fields():
    spec = task()
    assert (spec.name, spec.kind, spec.make) == ("puzzle", "sequence", make)


def test_specs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        model().name = "other"


@pytest.mark.parametrize("name", ["Tiny", "2tiny", "tiny-model", "", "tiny model", None])
def test_a_name_must_be_lowercase_letters_digits_and_underscores(name):
    with pytest.raises(SpecError, match="lowercase letters, digits and underscores"):
        model(name=name)
    with pytest.raises(SpecError, match="lowercase letters, digits and underscores"):
        task(name=name)


@pytest.mark.parametrize("summary", ["", "two\nlines"])
def test_a_summary_is_one_non_empty_line(summary):
    with pytest.raises(SpecError, match="summary must be one non-empty line"):
        model(summary=summary)


@pytest.mark.parametrize("kinds", [(), ("images",), ("sequence", "video")])
def test_model_kinds_come_from_the_known_kinds(kinds):
    with pytest.raises(SpecError) as caught:
        model(kinds=kinds)
    assert all(kind in str(caught.value) for kind in KINDS)


def test_a_model_needs_a_build_function():
    with pytest.raises(SpecError, match="build must be a function"):
        model(build=None)


def test_model_training_settings_are_checked():
    with pytest.raises(SpecError) as caught:
        model(training={"epochs": 3})
    assert "epochs" in str(caught.value)
    assert all(key in str(caught.value) for key in TRAINING_KEYS)


def test_a_task_has_a_known_kind_and_a_make_function():
    with pytest.raises(SpecError, match="kind must be one of sequence, language, generative"):
        task(kind="puzzles")
    with pytest.raises(SpecError, match="make must be a function"):
        task(make="not callable")


def test_option_names_do_not_repeat():
    with pytest.raises(SpecError, match="option names repeat"):
        model(options=(Option("width", 1), Option("width", 2)))


def test_an_option_default_must_satisfy_its_own_rules():
    with pytest.raises(SpecError, match="option 'width' of model 'tiny' must be an integer >= 1"):
        model(options=(Option("width", 0, min=1),))
    with pytest.raises(SpecError, match="one of: a, b"):
        task(options=(Option("mode", "c", choices=("a", "b")),))


# ---------------------------------------------------------------------- resolve


def test_resolve_starts_from_the_defaults_and_checks_each_value():
    spec = model()
    assert spec.defaults() == {"width": 8, "dropout": 0.0, "bias": True, "cell": "tanh"}
    assert spec.resolve() == spec.defaults()
    assert spec.resolve({"width": "16", "bias": "no"}) == {
        "width": 16, "dropout": 0.0, "bias": False, "cell": "tanh"}


def test_resolve_rejects_an_unknown_option_with_the_closest_name_and_the_list():
    with pytest.raises(SpecError) as caught:
        model().resolve({"widht": "3"})
    message = str(caught.value)
    assert "unknown option 'widht' for model 'tiny'" in message
    assert "did you mean 'width'?" in message
    assert "its options: width, dropout, bias, cell" in message


def test_resolve_rejects_a_value_out_of_range():
    with pytest.raises(SpecError, match=r"option 'length' of task 'puzzle' must be an integer "
                                        r"from 1 to 32, got '99'"):
        task().resolve({"length": "99"})


def test_did_you_mean_offers_close_names_only():
    assert did_you_mean("lstn", ["lstm", "gru", "rnn"]) == " (did you mean 'lstm'?)"
    assert did_you_mean("zebra", ["lstm", "gru", "rnn"]) == ""
