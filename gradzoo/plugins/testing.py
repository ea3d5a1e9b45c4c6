"""The conformance kit: does a model plugin keep every promise the lab relies on?

    from gradzoo.plugins.testing import check_model

    def test_my_model_conforms():
        check_model("bigram")            # a registered name, or the ModelSpec itself

At a tiny size (small widths, short sequences) and on one task of each kind the
model claims (``Registry.example_task``: the spec's ``example_task``, else the
usual task of the kind, unless ``task=`` says otherwise), the kit checks, in order:

==========  ================================================================
spec        summary and options: one short line, help for every option
build       build(task, options) gives a float32 nn.Module with parameters,
            the same weights for the same seed, and the kind's methods
            (``protocols.MODEL_METHODS``)
shapes      loss(batch) is a finite scalar; predict/generate/sample shapes
gradients   every parameter receives a finite gradient
gradcheck   backward matches finite differences on a float64 copy
causal      a decoder-only model never looks ahead (skipped for others, and for
            a model that offers ``bidirectional``, like ``bert``)
learns      the loss on one batch falls within a few dozen steps
save_load   weights saved and loaded give identical outputs
graph       the loss's computation graph can be drawn
==========  ================================================================

A failure raises ``ConformanceError`` (an AssertionError, so pytest shows it
plainly) naming each failed check and what to change. ``conformance_cases``
gives one pytest case per check; ``temporary_plugin`` (a context manager) and
``plugin_fixture`` (a pytest fixture) register a plugin for the length of one test.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field

from gradzoo.plugins import manager
from gradzoo.plugins.conformance import (
    CheckFailed,
    CheckSkipped,
    Subject,
    describe_error,
    seeded,
)
from gradzoo.plugins.conformance_checks import CHECKS, PREREQUISITES
from gradzoo.plugins.specs import ModelSpec, SpecError, TaskSpec

# The small values the kit gives common options.
TINY_MODEL_OPTIONS = {"hidden": 8, "width": 8, "layers": 1, "heads": 2, "ff": 16, "latent": 2,
                      "noise": 2, "timesteps": 8, "embedding": 4, "couplings": 2, "channels": 8,
                      "state": 4, "kernel": 3, "dropout": 0.0}
TINY_TASK_OPTIONS = {"length": 3, "context": 8, "distance": 2, "pairs": 2, "digits": 1,
                     "size": 8}

__all__ = ["check_model", "conformance_cases", "temporary_plugin", "plugin_fixture",
           "ConformanceError", "ConformanceReport", "CheckResult", "CHECK_NAMES"]
CHECK_NAMES = tuple(CHECKS)


@dataclass(frozen=True)
class CheckResult:
    """How one check went on one task: ``status`` is 'passed', 'failed' or 'skipped'."""

    check: str
    task: str
    status: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status.upper():7s} {self.check:10s} [{self.task}] {self.detail}"


@dataclass
class ConformanceReport:
    """Every check's result for one model."""

    model: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        lines = [f"conformance of model '{self.model}':"]
        return "\n".join(lines + [f"  {result}" for result in self.results])


class ConformanceError(AssertionError):
    """A model failed the kit; ``report`` holds every result, the message each failure."""

    def __init__(self, report: ConformanceReport):
        self.report = report
        failures = "\n".join(f"- {r.check} (on task {r.task}): {r.detail}"
                             for r in report.failures)
        others = f"\n\n{report}" if len(report.results) > len(report.failures) else ""
        super().__init__(f"model '{report.model}' failed {len(report.failures)} conformance "
                         f"check(s):\n{failures}{others}")


def check_model(name_or_spec, task=None, *, options=None, task_options=None, checks=None,
                seed: int = 0, raise_on_failure: bool = True) -> ConformanceReport:
    """Run the kit on a model (a registered name or a ``ModelSpec``); raise if a check fails.

    ``task``: a task name or ``TaskSpec`` to check on (default: one per kind the
    model claims). ``options`` / ``task_options`` override the kit's tiny sizes.
    ``checks``: names from ``CHECK_NAMES`` to run (default: all).
    """
    __tracebackhide__ = True  # pytest shows the failure, not the kit's own frames
    spec = _model_spec(name_or_spec)
    selected = _selected_checks(checks)
    report = ConformanceReport(spec.name)
    with seeded(seed):
        for task_spec in _task_specs(spec, task):
            report.results += _run_checks(spec, task_spec, options, task_options, seed, selected)
    if raise_on_failure and not report.passed:
        raise ConformanceError(report)
    return report


@dataclass(frozen=True)
class ConformanceCase:
    """One check of one model, as a pytest case: ``case.run()`` raises if it fails."""

    model: object
    check: str
    kwargs: dict = field(default_factory=dict, hash=False)

    def run(self) -> ConformanceReport:
        __tracebackhide__ = True
        return check_model(self.model, checks=[self.check], **self.kwargs)

    def __repr__(self) -> str:
        return f"ConformanceCase({self})"

    def __str__(self) -> str:
        name = self.model.name if isinstance(self.model, ModelSpec) else self.model
        return f"{name}-{self.check}"


def conformance_cases(name_or_spec, **kwargs) -> list[ConformanceCase]:
    """One case per check, for ``pytest.mark.parametrize``::

        @pytest.mark.parametrize("case", conformance_cases("bigram"), ids=str)
        def test_conformance(case):
            case.run()
    """
    return [ConformanceCase(name_or_spec, check, kwargs) for check in CHECK_NAMES]


@contextlib.contextmanager
def temporary_plugin(plugin, name: str | None = None):
    """Register ``plugin`` (a module or an object with ``@hookimpl`` functions) inside the block.

    The shared registry (and ``gradzoo`` commands run in the test) see its models,
    tasks and commands; afterwards they are gone, even when the block raised.
    Use it as a pytest fixture with ``yield``::

        @pytest.fixture
        def my_plugin():
            with temporary_plugin(my_module) as registry:
                yield registry
    """
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    manager.add_plugin(name, plugin)
    try:
        _forget_loaded_plugins()
        registry = manager.get_registry()
        record = registry.plugins.get(name)
        if record is not None and record.failed:
            raise manager.PluginError(f"plugin '{name}' failed to load: {record.error}")
        yield registry
    finally:
        manager.remove_plugin(name)
        _forget_loaded_plugins()


def plugin_fixture(plugin, name: str | None = None):
    """A pytest fixture that holds ``plugin`` registered for each test using it::

        blob_registry = plugin_fixture(my_module)   # the fixture's name: blob_registry
    """
    import pytest  # the kit is imported by tests; gradzoo itself never needs pytest

    @pytest.fixture
    def registered_plugin():
        with temporary_plugin(plugin, name) as registry:
            yield registry

    return registered_plugin


def _forget_loaded_plugins() -> None:
    """Reset the registry, and the command line's plugin commands if it is in use."""
    manager.reset_registry()
    cli = sys.modules.get("gradzoo.cli")  # looked up, not imported: plugins never import the CLI
    if cli is not None:
        cli.forget_plugins()


# ---------------------------------------------------------------------- running the checks


def _run_checks(spec, task_spec, options, task_options, seed, selected) -> list[CheckResult]:
    try:
        subject = _subject(spec, task_spec, options, task_options, seed)
    except Exception as error:
        return [CheckResult("setup", task_spec.name, "failed",
                            f"could not prepare the check: {describe_error(error)}")]
    results = []
    for name, check in CHECKS.items():
        if name not in selected and name not in PREREQUISITES:
            continue
        result = _run_one(name, check, subject)
        if name in selected:
            results.append(result)
        if result.status == "failed" and name in PREREQUISITES:
            if name not in selected:
                results.append(result)
            break
    return results


def _run_one(name: str, check, subject: Subject) -> CheckResult:
    task = subject.task_spec.name
    try:
        return CheckResult(name, task, "passed", check(subject))
    except CheckSkipped as skipped:
        return CheckResult(name, task, "skipped", str(skipped))
    except CheckFailed as failed:
        return CheckResult(name, task, "failed", str(failed))
    except Exception as error:  # the kit must report, never crash, whatever the model does
        return CheckResult(name, task, "failed", f"raised {describe_error(error)}")


def _subject(spec: ModelSpec, task_spec: TaskSpec, options, task_options, seed) -> Subject:
    model_values = {**tiny_options(spec, TINY_MODEL_OPTIONS), **(options or {})}
    task_values = {**tiny_options(task_spec, TINY_TASK_OPTIONS), **(task_options or {})}
    resolved_task = task_spec.resolve(task_values)
    task = task_spec.make(dict(resolved_task), seed)
    return Subject(spec, task_spec, spec.resolve(model_values), resolved_task, seed, task)


def tiny_options(spec, table: dict) -> dict:
    """The values of ``table`` for the options ``spec`` has, where allowed and below the default."""
    tiny = {}
    for option in spec.options:
        value = table.get(option.name)
        if value is None or isinstance(option.default, (bool, str)):
            continue
        try:
            if option.parse(value) <= option.default:
                tiny[option.name] = option.parse(value)
        except (SpecError, TypeError):
            continue
    return tiny


def _model_spec(name_or_spec) -> ModelSpec:
    if isinstance(name_or_spec, ModelSpec):
        return name_or_spec
    if isinstance(name_or_spec, str):
        return manager.get_registry().model(name_or_spec)
    raise TypeError(f"check_model takes a model name or a ModelSpec, not "
                    f"{type(name_or_spec).__name__}")


def _task_specs(spec: ModelSpec, task) -> list[TaskSpec]:
    """The task given, or one task for each kind the model claims."""
    registry = manager.get_registry()
    if task is not None:
        task_spec = task if isinstance(task, TaskSpec) else registry.task(task)
        if task_spec.kind not in spec.kinds:
            raise ValueError(f"model '{spec.name}' runs {', '.join(spec.kinds)} tasks; task "
                             f"'{task_spec.name}' is a {task_spec.kind} task")
        return [task_spec]
    return [_example_task_spec(registry, spec, kind) for kind in spec.kinds]


def _example_task_spec(registry, spec: ModelSpec, kind: str) -> TaskSpec:
    """The task the model is shown on for ``kind``; an error when no such task is registered."""
    name = registry.example_task(spec, kind)
    if name is not None:
        return registry.tasks[name]
    raise ValueError(f"model '{spec.name}' claims {kind} tasks, but no {kind} task is "
                     f"registered to check it on; pass task=... (a TaskSpec works too)")


def _selected_checks(checks) -> set[str]:
    if checks is None:
        return set(CHECK_NAMES)
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; the checks: "
                         f"{', '.join(CHECK_NAMES)}")
    return set(checks)
