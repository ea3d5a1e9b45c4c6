"""The plugin manager: where plugins come from, and what happens when one misbehaves.

Plugins are found three ways (the built-in zoo, entry points in group
``gradzoo``, the ``.py`` files of a directory) and switched by environment
variables (``GRADZOO_LOAD_PLUGINS``, ``GRADZOO_TRACE_PLUGINS``,
``GRADZOO_STRICT_PLUGINS``). A failing plugin is rolled back and reported; a
duplicate name stays with the first plugin. Each test drives a fresh
``PluginLoader`` with its own environment dict, so nothing leaks between tests.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from gradzoo.plugins import ModelSpec
from gradzoo.plugins.manager import (
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    PluginError,
    PluginLoader,
    UnknownNameError,
    get_registry,
    reset_registry,
)
from tests.plugins.helpers import (
    BROKEN_IMPORT,
    COMMAND_THEN_FAIL,
    HALF_REGISTERED,
    NOT_A_SPEC,
    command_plugin,
    install_distribution,
    model_plugin,
    task_plugin,
    write_plugin,
)

BUILTIN_MODELS = {"rnn", "lstm", "gru", "transformer", "gpt", "bert", "clip", "vae", "diffusion",
                  "gan", "flow", "cnn", "mlp"}
BUILTIN_TASKS = {"remember", "recall", "copy", "reverse", "sort", "add", "chars", "cloze",
                 "captions", "moons", "circles", "spiral", "ring", "shapes", "images",
                 "shape_classes", "labelled_images"}


pytestmark = pytest.mark.usefixtures("fresh_plugins")  # see tests/conftest.py


def load(plugins_dir=None, cli=None, **environ):
    """Load every plugin; return (registry, warnings printed)."""
    warnings = []
    loader = PluginLoader(plugins_dir=plugins_dir, environ=environ, warn=warnings.append)
    return loader.load(cli=cli), warnings


def new_group():
    @click.group()
    def cli():
        """A stand-in for the gradzoo group."""

    @cli.command("list")
    def list_command():
        click.echo("the built-in list")

    return cli


# ---------------------------------------------------------------------- the built-in zoo


def test_the_builtin_zoo_is_loaded_through_the_hooks():
    registry, warnings = load()
    assert warnings == []
    assert BUILTIN_MODELS <= set(registry.models)
    assert BUILTIN_TASKS <= set(registry.tasks)
    assert list(registry.plugins)[:len(BUILTIN_PLUGINS)] == list(BUILTIN_PLUGINS)
    for name in BUILTIN_PLUGINS:
        record = registry.plugins[name]
        assert record.source == "built-in" and not record.failed
    assert registry.plugin_of("model", "gpt") == "gradzoo.zoo.models.gpt"
    assert registry.plugin_of("task", "reverse") == "gradzoo.zoo.tasks.sequence"
    assert isinstance(registry.model("gpt"), ModelSpec)


def test_an_unknown_name_is_a_key_error_with_the_closest_names():
    registry, _ = load()
    with pytest.raises(UnknownNameError) as caught:
        registry.model("lstn")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("unknown model 'lstn' (did you mean 'lstm'?)")
    assert ("known models: bert, clip, cnn, diffusion, flow, gan, gpt, gru, lstm, mlp, rnn, "
            "transformer, vae" in str(caught.value))
    with pytest.raises(UnknownNameError, match="unknown task 'revrse'.*'reverse'"):
        registry.task("revrse")


def test_the_shared_registry_is_loaded_once_until_reset():
    first = get_registry()
    assert get_registry() is first
    assert get_registry(reload=True) is not first
    reset_registry()
    assert get_registry() is not first


# ---------------------------------------------------------------------- a plugins directory


def test_plugins_are_found_in_a_directory(tmp_path):
    path = write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    write_plugin(tmp_path, "_helper", "raise RuntimeError('a private module is not a plugin')")
    (tmp_path / "notes.txt").write_text("not python")
    registry, warnings = load(plugins_dir=tmp_path)
    assert warnings == []
    assert "tiny" in registry.models and registry.plugin_of("model", "tiny") == "tiny"
    assert registry.plugins["tiny"].source == f"file {path}"
    assert registry.plugins["tiny"].models == ["tiny"]
    assert "_helper" not in registry.plugins
    assert BUILTIN_MODELS <= set(registry.models)


def test_the_directory_can_come_from_the_environment(tmp_path):
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    registry, _ = load(GRADZOO_PLUGINS_DIR=str(tmp_path))
    assert "tiny" in registry.models


def test_a_missing_plugins_directory_is_an_error_naming_it(tmp_path):
    with pytest.raises(PluginError, match="does_not_exist.*does not exist"):
        load(plugins_dir=tmp_path / "does_not_exist")


def test_a_plugin_can_add_a_command(tmp_path):
    write_plugin(tmp_path, "greeter", command_plugin("hello"))
    cli = new_group()
    registry, warnings = load(plugins_dir=tmp_path, cli=cli)
    assert warnings == []
    assert "hello" in cli.commands
    assert registry.plugins["greeter"].commands == ["hello"]


def test_a_plugin_may_use_the_bare_command_decorator(tmp_path):
    write_plugin(tmp_path, "bare", '''
        import click
        from gradzoo.plugins import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command
            def shout():
                click.echo("HI")
    ''')
    cli = new_group()
    registry, warnings = load(plugins_dir=tmp_path, cli=cli)
    assert warnings == [] and not registry.plugins["bare"].failed
    assert registry.plugins["bare"].commands == ["shout"]
    assert CliRunner().invoke(cli, ["shout"]).output == "HI\n"


def test_a_plugin_group_follows_the_same_rule_as_a_command(tmp_path):
    write_plugin(tmp_path, "groups", """
        import click
        from gradzoo.plugins import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.group()
            def extras():
                pass

            @extras.command()
            def ping():
                click.echo("pong")

            @cli.group("list")
            def another_list():
                pass
    """)
    cli = new_group()
    registry, warnings = load(plugins_dir=tmp_path, cli=cli)
    assert registry.plugins["groups"].commands == ["extras"]
    assert CliRunner().invoke(cli, ["extras", "ping"]).output == "pong\n"
    assert CliRunner().invoke(cli, ["list"]).output == "the built-in list\n"
    assert len(warnings) == 1 and "command 'list' from plugin 'groups'" in warnings[0]


# ---------------------------------------------------------------------- installed packages


def test_plugins_are_found_through_an_installed_entry_point(tmp_path, monkeypatch):
    install_distribution(tmp_path, monkeypatch, model_plugin("packaged"))
    registry, warnings = load()
    assert warnings == []
    assert registry.plugins["fake_zoo"].source == "package fake-dist 0.1"
    assert registry.plugin_of("model", "packaged") == "fake_zoo"
    assert ENTRY_POINT_GROUP == "gradzoo"


def test_an_installed_package_that_fails_to_import_is_reported(tmp_path, monkeypatch):
    install_distribution(tmp_path, monkeypatch, BROKEN_IMPORT, dist="broken_dist", version="2.0",
                         entry="broken_zoo")
    registry, warnings = load()
    assert registry.plugins["broken_zoo"].failed
    assert registry.plugins["broken_zoo"].source == "package broken-dist 2.0"
    assert len(warnings) == 1
    assert "plugin 'broken_zoo' (package broken-dist 2.0)" in warnings[0]
    assert "gradzoo_test_missing_dependency" in warnings[0]
    assert BUILTIN_MODELS <= set(registry.models)


def test_packages_come_before_the_directory(tmp_path, monkeypatch):
    install_distribution(tmp_path / "site", monkeypatch, model_plugin("tiny", summary="packaged"))
    write_plugin(tmp_path / "dir", "loose", model_plugin("tiny", summary="loose file"))
    registry, warnings = load(plugins_dir=tmp_path / "dir")
    assert registry.model("tiny").summary == "packaged"
    assert registry.plugin_of("model", "tiny") == "fake_zoo"
    assert len(warnings) == 1 and "'loose'" in warnings[0] and "'fake_zoo'" in warnings[0]


def test_a_second_plugin_of_the_same_name_is_skipped(tmp_path, monkeypatch):
    install_distribution(tmp_path / "site", monkeypatch, model_plugin("packaged"))
    write_plugin(tmp_path / "dir", "fake_zoo", model_plugin("from_file"))
    registry, warnings = load(plugins_dir=tmp_path / "dir")
    assert "packaged" in registry.models and "from_file" not in registry.models
    assert len(warnings) == 1
    assert "plugin 'fake_zoo' from file" in warnings[0]
    assert "package fake-dist 0.1" in warnings[0]


# ---------------------------------------------------------------------- GRADZOO_LOAD_PLUGINS


def test_load_plugins_loads_only_the_named_ones(tmp_path):
    for name in ("alpha", "beta", "gamma"):
        write_plugin(tmp_path, name, model_plugin(f"{name}_model"))
    registry, _ = load(plugins_dir=tmp_path, GRADZOO_LOAD_PLUGINS="alpha, gamma")
    assert {"alpha_model", "gamma_model"} <= set(registry.models)
    assert "beta_model" not in registry.models and "beta" not in registry.plugins
    assert BUILTIN_MODELS <= set(registry.models)  # built-ins are always there


def test_an_empty_load_plugins_loads_only_the_builtins(tmp_path, monkeypatch):
    write_plugin(tmp_path / "dir", "alpha", model_plugin("alpha_model"))
    install_distribution(tmp_path / "site", monkeypatch, model_plugin("packaged"))
    registry, _ = load(plugins_dir=tmp_path / "dir", GRADZOO_LOAD_PLUGINS="")
    assert list(registry.plugins) == list(BUILTIN_PLUGINS)
    assert set(registry.models) == BUILTIN_MODELS


# ---------------------------------------------------------------------- GRADZOO_TRACE_PLUGINS


def test_trace_prints_every_hook_call(tmp_path, capsys):
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    load(plugins_dir=tmp_path, cli=new_group(), GRADZOO_TRACE_PLUGINS="1")
    err = capsys.readouterr().err
    for hook in ("register_tasks", "register_models", "register_commands"):
        assert f"gradzoo: trace: calling {hook} on" in err
    assert "calling register_tasks on gradzoo.zoo.tasks.sequence" in err
    assert "calling register_models on gradzoo.zoo.models.gpt" in err
    assert "calling register_models on tiny" in err
    assert "register_models on tiny: done" in err


def test_trace_shows_a_hook_that_raises(tmp_path, capsys):
    write_plugin(tmp_path, "half", HALF_REGISTERED)
    load(plugins_dir=tmp_path, GRADZOO_TRACE_PLUGINS="1")
    assert ("register_models on half: raised RuntimeError: boom while registering"
            in capsys.readouterr().err)


def test_no_trace_by_default(tmp_path, capsys):
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    load(plugins_dir=tmp_path, GRADZOO_TRACE_PLUGINS="0")
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------- broken plugins


def test_a_plugin_that_fails_to_import_is_reported_once_and_skipped(tmp_path):
    write_plugin(tmp_path, "broken", BROKEN_IMPORT)
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    registry, warnings = load(plugins_dir=tmp_path)
    assert len(warnings) == 1
    assert "plugin 'broken'" in warnings[0]
    assert "ModuleNotFoundError" in warnings[0] and "gradzoo_test_missing_dependency" in warnings[0]
    record = registry.plugins["broken"]
    assert record.failed and "gradzoo_test_missing_dependency" in record.error
    assert (record.models, record.tasks, record.commands) == ([], [], [])
    assert "tiny" in registry.models and BUILTIN_MODELS <= set(registry.models)


def test_a_plugin_that_raises_in_a_hook_is_rolled_back(tmp_path):
    write_plugin(tmp_path, "half", HALF_REGISTERED)
    registry, warnings = load(plugins_dir=tmp_path)
    assert len(warnings) == 1
    assert "plugin 'half'" in warnings[0] and "RuntimeError: boom while registering" in warnings[0]
    assert "half_task" not in registry.tasks and "half_model" not in registry.models
    assert ("task", "half_task") not in registry.owner
    assert registry.plugins["half"].error == "RuntimeError: boom while registering"
    assert registry.plugins["half"].tasks == []


def test_a_failed_plugin_is_unregistered_from_pluggy(tmp_path):
    write_plugin(tmp_path, "half", HALF_REGISTERED)
    loader = PluginLoader(plugins_dir=tmp_path, environ={}, warn=lambda message: None)
    loader.load()
    assert "half" not in {name for name, _ in loader.manager.list_name_plugin()}
    assert "gradzoo.zoo.models.gpt" in {name for name, _ in loader.manager.list_name_plugin()}


def test_a_command_added_before_a_failure_is_removed(tmp_path):
    write_plugin(tmp_path, "half", COMMAND_THEN_FAIL)
    cli = new_group()
    registry, warnings = load(plugins_dir=tmp_path, cli=cli)
    assert "half_command" not in cli.commands
    assert registry.plugins["half"].commands == []
    assert "boom while adding commands" in warnings[0]


def test_registering_something_that_is_not_a_spec_fails_the_plugin(tmp_path):
    write_plugin(tmp_path, "sloppy", NOT_A_SPEC)
    registry, warnings = load(plugins_dir=tmp_path)
    assert registry.plugins["sloppy"].failed
    assert "needs a ModelSpec, got dict" in registry.plugins["sloppy"].error
    assert len(warnings) == 1


def test_an_invalid_spec_fails_only_its_plugin(tmp_path):
    write_plugin(tmp_path, "shouty", model_plugin("Shouty"))
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    registry, warnings = load(plugins_dir=tmp_path)
    assert "SpecError" in registry.plugins["shouty"].error
    assert "'Shouty'" in registry.plugins["shouty"].error
    assert "tiny" in registry.models
    assert len(warnings) == 1


# ---------------------------------------------------------------------- duplicates


def test_a_duplicate_name_stays_with_the_builtin_and_the_warning_names_both(tmp_path):
    write_plugin(tmp_path, "copycat", model_plugin("gpt", summary="an impostor"))
    registry, warnings = load(plugins_dir=tmp_path)
    assert registry.plugin_of("model", "gpt") == "gradzoo.zoo.models.gpt"
    assert registry.model("gpt").summary != "an impostor"
    assert len(warnings) == 1
    assert "model 'gpt'" in warnings[0]
    assert "'copycat'" in warnings[0] and "'gradzoo.zoo.models.gpt'" in warnings[0]
    assert not registry.plugins["copycat"].failed
    assert registry.plugins["copycat"].models == []


def test_between_two_plugins_the_first_loaded_keeps_the_name(tmp_path):
    write_plugin(tmp_path, "a_first", task_plugin("twin", summary="first"))
    write_plugin(tmp_path, "b_second", task_plugin("twin", summary="second"))
    registry, warnings = load(plugins_dir=tmp_path)
    assert registry.task("twin").summary == "first"
    assert registry.plugin_of("task", "twin") == "a_first"
    assert len(warnings) == 1 and "'a_first'" in warnings[0] and "'b_second'" in warnings[0]


def test_a_plugin_command_never_replaces_an_existing_one(tmp_path):
    write_plugin(tmp_path, "a_list", command_plugin("list", says="the plugin's list"))
    write_plugin(tmp_path, "b_hello", command_plugin("hello", says="first hello"))
    write_plugin(tmp_path, "c_hello", command_plugin("hello", says="second hello"))
    cli = new_group()
    original = cli.commands["list"]
    registry, warnings = load(plugins_dir=tmp_path, cli=cli)
    assert cli.commands["list"] is original
    assert registry.plugins["a_list"].commands == []
    assert registry.plugins["b_hello"].commands == ["hello"]
    assert registry.plugins["c_hello"].commands == []
    assert len(warnings) == 2
    assert "command 'list' from plugin 'a_list'" in warnings[0]
    assert "command 'hello' from plugin 'c_hello'" in warnings[1]
    assert CliRunner().invoke(cli, ["hello"]).output == "first hello\n"


# ---------------------------------------------------------------------- GRADZOO_STRICT_PLUGINS


def test_strict_mode_turns_a_broken_plugin_into_an_error(tmp_path):
    write_plugin(tmp_path, "broken", BROKEN_IMPORT)
    with pytest.raises(PluginError) as caught:
        load(plugins_dir=tmp_path, GRADZOO_STRICT_PLUGINS="1")
    assert "plugin 'broken'" in str(caught.value)
    assert "gradzoo_test_missing_dependency" in str(caught.value)
    assert "GRADZOO_STRICT_PLUGINS" in str(caught.value)


def test_strict_mode_turns_a_duplicate_name_into_an_error(tmp_path):
    write_plugin(tmp_path, "copycat", model_plugin("gpt"))
    with pytest.raises(PluginError) as caught:
        load(plugins_dir=tmp_path, GRADZOO_STRICT_PLUGINS="1")
    message = str(caught.value)
    assert "model 'gpt'" in message and "'copycat'" in message
    assert "'gradzoo.zoo.models.gpt'" in message
    assert message.count("GRADZOO_STRICT_PLUGINS") == 1


def test_strict_mode_turns_a_command_clash_into_an_error(tmp_path):
    write_plugin(tmp_path, "a_list", command_plugin("list"))
    with pytest.raises(PluginError, match="command 'list' from plugin 'a_list'"):
        load(plugins_dir=tmp_path, cli=new_group(), GRADZOO_STRICT_PLUGINS="1")


def test_strict_mode_is_quiet_when_all_is_well(tmp_path):
    write_plugin(tmp_path, "tiny", model_plugin("tiny"))
    registry, warnings = load(plugins_dir=tmp_path, GRADZOO_STRICT_PLUGINS="1")
    assert "tiny" in registry.models and warnings == []
