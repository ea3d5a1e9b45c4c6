"""Every built-in task and model offers what plugins/protocols.py says its kind offers."""

import pytest

from gradzoo.lab.catalog import example_task
from gradzoo.plugins import protocols
from gradzoo.plugins.manager import get_registry

TASK_PROTOCOL = {"sequence": protocols.SequenceTask, "language": protocols.LanguageTask,
                 "generative": protocols.GenerativeTask, "paired": protocols.PairedTask}
MODEL_PROTOCOL = {"sequence": protocols.SequenceModel, "language": protocols.LanguageModel,
                  "generative": protocols.GenerativeModel, "paired": protocols.PairedModel}


@pytest.mark.parametrize("name", sorted(get_registry().tasks))
def test_builtin_task_follows_its_protocol(name):
    spec = get_registry().task(name)
    if name == "images":
        pytest.skip("needs a file of the user's images (tested in tests/zoo)")
    task = spec.make(spec.defaults(), 0)
    assert isinstance(task, TASK_PROTOCOL[spec.kind]), f"{name} lacks part of its protocol"


@pytest.mark.parametrize("name", sorted(get_registry().models))
def test_builtin_model_follows_its_protocol(name):
    registry = get_registry()
    spec = registry.model(name)
    task_spec = registry.task(example_task(registry, spec))
    model = spec.build(task_spec.make(task_spec.defaults(), 0), spec.defaults())
    assert isinstance(model, MODEL_PROTOCOL[spec.kinds[0]]), f"{name} lacks part of its protocol"
