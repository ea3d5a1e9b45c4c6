"""io: safetensors round trips, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gradzoo.engine import io, nn, optim, tensor


def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path, device):
    state = {
        "weight": tensor([[1.5, -2.0], [0.25, 3.0]]),
        "table": tensor(np.arange(6).reshape(2, 3)),
        "precise": tensor([0.1], dtype="float64"),
        "mask": tensor([True, False]),
        "scalar": tensor(7.0),
    }
    io.save(state, tmp_path / "a.safetensors")
    loaded = io.load(tmp_path / "a.safetensors", device="cpu")
    assert set(loaded) == set(state)
    for name, value in state.items():
        assert loaded[name].dtype == value.dtype, name
        assert loaded[name].shape == value.shape, name
        np.testing.assert_array_equal(loaded[name].numpy(), value.numpy())
    assert loaded["weight"].device == "cpu" and not loaded["weight"].requires_grad


def test_python_numbers_become_exact_0d_tensors(tmp_path):
    io.save({"lr": 3e-4, "step": 12}, tmp_path / "n.safetensors")
    loaded = io.load(tmp_path / "n.safetensors")
    assert loaded["lr"].shape == () and loaded["lr"].item() == 3e-4  # float64: exact
    assert loaded["step"].item() == 12 and loaded["step"].dtype == np.int64


def test_non_contiguous_tensors_are_saved_correctly(tmp_path):
    matrix = tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    io.save({"t": matrix.T}, tmp_path / "t.safetensors")
    np.testing.assert_array_equal(io.load(tmp_path / "t.safetensors")["t"].numpy(),
                                  matrix.numpy().T)


def test_metadata_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    io.save({"x": tensor([1.0])}, path, metadata={"step": "5", "model": "gpt"})
    assert io.read_metadata(path) == {"step": "5", "model": "gpt"}
    io.save({"x": tensor([1.0])}, path)
    assert io.read_metadata(path) == {}
    with pytest.raises(TypeError, match="strings"):
        io.save({"x": tensor([1.0])}, path, metadata={"step": 5})


def test_save_rejects_values_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="'config'.*dict"):
        io.save({"config": {"a": 1}}, tmp_path / "bad.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save({"x": tensor([1.0])}, path)
    io.save({"x": tensor([2.0])}, path)
    assert io.load(path)["x"].item() == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    io.save({"x": tensor([1.0])}, path)

    def crash(source, target):
        raise KeyboardInterrupt  # the run is stopped just before the rename

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        io.save({"x": tensor([2.0])}, path)
    monkeypatch.undo()
    assert io.load(path)["x"].item() == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]


def test_missing_file_is_a_checkpoint_error_naming_it(tmp_path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(io.CheckpointError, match="nowhere.safetensors") as error:
        io.load(path)
    assert isinstance(error.value, ValueError)
    assert "No such file" in str(error.value)
    with pytest.raises(io.CheckpointError, match="nowhere.safetensors"):
        io.read_metadata(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupt_file_is_a_checkpoint_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.safetensors"
    if content == "truncated":
        io.save({"x": tensor(np.ones(100))}, path)
        content = path.read_bytes()[:-10]
    path.write_bytes(content)
    with pytest.raises(io.CheckpointError, match=r"broken.safetensors.*not a valid safetensors"):
        io.load(path)
    with pytest.raises(io.CheckpointError, match="broken.safetensors"):
        io.read_metadata(path)


def test_model_and_optimizer_resume_through_a_file(tmp_path, device):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    x, y = tensor([[1.0, 2.0], [-1.0, 0.5]]), tensor([[1.0], [0.0]])

    def train_step(model, optimizer):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()

    train_step(model, optimizer)
    io.save(model.state_dict(), tmp_path / "model.safetensors")
    io.save(optimizer.state_dict(), tmp_path / "optimizer.safetensors")

    copy = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    copy.load_state_dict(io.load(tmp_path / "model.safetensors"))
    copy_optimizer = optim.Adam(copy.parameters(), lr=0.05)
    copy_optimizer.load_state_dict(io.load(tmp_path / "optimizer.safetensors"))
    for _ in range(3):
        train_step(model, optimizer)
        train_step(copy, copy_optimizer)
    for a, b in zip(model.parameters(), copy.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_io_module_leaves_numpy_to_the_backend():
    source = Path(io.__file__).read_text()
    assert "import numpy" not in source and "from numpy" not in source
