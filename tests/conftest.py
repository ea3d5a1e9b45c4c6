"""Fixtures shared by every test: the ``device`` a test runs on, and a fixed seed.

A test that takes ``device`` runs once per device, with that device as the default:

* ``cpu``       NumPy.
* ``fake-gpu``  the GPU code path on a NumPy-backed stand-in for CuPy (tests/fakecupy.py),
                which refuses host/device mixing as CuPy does; the test sees ``"gpu"``.
* ``gpu``       real CuPy on an NVIDIA GPU; marked ``gpu``, skipped where there is none.

    def test_add(device):
        x = tensor([1.0, 2.0], device=device)   # device is "cpu" or "gpu"

``fake_gpu`` is the ``fake-gpu`` case alone, for tests about moving between devices.

The session starts on the device named by ``GRADZOO_TEST_DEVICE`` (``cpu`` when
unset; also ``gpu``, ``auto`` or ``fake-gpu``), never on ``GRADZOO_DEVICE=auto``,
so a machine with a GPU runs the same tests as one without. Every test starts
from seed 0 and that device, and the backend is put back as it was afterwards.

The picture judges (gradzoo/zoo/tasks/judge.py) are cached in a temporary folder
of the session unless ``GRADZOO_CACHE`` is set, so tests never write to ~/.cache.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from gradzoo.engine import backend, manual_seed
from tests import fakecupy

TEST_DEVICES = ("cpu", "gpu", "auto", "fake-gpu")


def use_device(name: str) -> str:
    """Make ``name`` (one of TEST_DEVICES) the default device; return the name tensors report."""
    if name == "fake-gpu":
        backend.use_gpu_module(fakecupy)
        name = "gpu"
    backend.set_default_device(name)
    return backend.default_device()


def pytest_configure(config):
    if "GRADZOO_CACHE" not in os.environ:
        cache = tempfile.mkdtemp(prefix="gradzoo-test-cache-")
        os.environ["GRADZOO_CACHE"] = cache
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
    requested = os.environ.get("GRADZOO_TEST_DEVICE", "cpu").strip().lower()
    if requested not in TEST_DEVICES:
        raise pytest.UsageError(f"GRADZOO_TEST_DEVICE={requested!r}; allowed: "
                                f"{', '.join(TEST_DEVICES)}")
    try:
        use_device(requested)
    except backend.DeviceError as error:
        raise pytest.UsageError(f"GRADZOO_TEST_DEVICE={requested}: {error}") from None


@pytest.fixture(autouse=True)
def _restore_backend():
    """Put the GPU module and the default device back as they were before the test."""
    gpu_module, default_device = backend._gpu_module, backend._default_device
    yield
    backend.use_gpu_module(gpu_module)
    backend.set_default_device(default_device)


@pytest.fixture(autouse=True)
def _seed():
    """Every test draws the same random numbers (weights, dropout masks, data)."""
    manual_seed(0)


@pytest.fixture(params=["cpu", "fake-gpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def device(request):
    """The device a test runs on ("cpu" or "gpu"), also made the default for the test."""
    if request.param == "gpu":
        backend.use_gpu_module(None)  # find real CuPy, not a stand-in
        try:
            backend.gpu_module()
        except backend.DeviceError as error:
            reason = "CuPy is not installed" if "not installed" in str(error) else str(error)
            pytest.skip(f"needs CuPy and an NVIDIA GPU ({reason})")
    name = use_device(request.param)
    manual_seed(0)  # seeds the GPU generator just installed too
    return name


@pytest.fixture
def fake_gpu():
    """Device "gpu" backed by the CuPy stand-in, for one test (also the default device)."""
    name = use_device("fake-gpu")
    manual_seed(0)
    return name


@pytest.fixture
def fresh_plugins(monkeypatch):
    """No plugin switch (GRADZOO_*PLUGINS*) from the calling shell, and plugins and their
    commands loaded afresh by the test, then forgotten again."""
    from gradzoo.cli import forget_plugins
    from tests.plugins.helpers import PLUGIN_ENV

    for name in PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)
    forget_plugins()
    yield
    forget_plugins()
