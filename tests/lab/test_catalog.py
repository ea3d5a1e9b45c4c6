"""The rows ``gradzoo list`` prints, built without touching the caller's settings."""

from gradzoo.engine import backend
from gradzoo.lab import catalog
from gradzoo.plugins.manager import get_registry


def test_counting_parameters_leaves_the_default_device_alone(fake_gpu):
    rows = catalog.model_rows(get_registry())
    assert backend.default_device() == "gpu"  # the caller's choice, kept
    assert {row[0]: row[2] for row in rows}["rnn"].endswith("(copy)")  # Registry.example_task
