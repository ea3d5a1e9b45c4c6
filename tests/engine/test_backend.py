"""The backend: choosing a device, moving between devices, dtype rules, and every op everywhere.

The last part is the main point: every op of gradzoo/engine/ops, forward and backward,
on the CPU and on the GPU code path (real CuPy, or tests/fakecupy.py, which refuses
host/device mixing as CuPy does), with the same numbers on both.
"""

from __future__ import annotations

import sys
import types
from unittest import mock

import numpy as np
import pytest

from gradzoo.engine import F, backend, manual_seed, ops, tensor
from tests import fakecupy
from tests.engine.op_catalog import engine_ops, recording_ops

# ---------------------------------------------------------------------- choosing the device


@pytest.fixture
def no_cupy(monkeypatch):
    """A machine without CuPy: no GPU module yet, and ``import cupy`` fails."""
    backend.use_gpu_module(None)
    monkeypatch.setitem(sys.modules, "cupy", None)


def device_from_env(monkeypatch, value: str | None) -> str:
    """The default device ``GRADZOO_DEVICE=value`` gives (``None``: the variable unset)."""
    if value is None:
        monkeypatch.delenv("GRADZOO_DEVICE", raising=False)
    else:
        monkeypatch.setenv("GRADZOO_DEVICE", value)
    backend.set_default_device(None)  # read the variable again
    return backend.default_device()


@pytest.mark.parametrize("value, expected", [("cpu", "cpu"), (" CPU ", "cpu"), ("gpu", "gpu"),
                                             ("auto", "gpu"), ("", "gpu"), (None, "gpu")])
def test_gradzoo_device_with_a_gpu(monkeypatch, fake_gpu, value, expected):
    assert device_from_env(monkeypatch, value) == expected


@pytest.mark.parametrize("value", ["auto", "", None, "cpu"])
def test_gradzoo_device_without_a_gpu_is_the_cpu(monkeypatch, no_cupy, value):
    assert device_from_env(monkeypatch, value) == "cpu"
    assert not backend.gpu_available()


def test_an_unknown_gradzoo_device_names_the_allowed_values(monkeypatch):
    with pytest.raises(backend.DeviceError, match=r"GRADZOO_DEVICE='tpu'.*auto, cpu, gpu"):
        device_from_env(monkeypatch, "tpu")


ASK_FOR_THE_GPU = {
    "GRADZOO_DEVICE=gpu": lambda monkeypatch: device_from_env(monkeypatch, "gpu"),
    "set_default_device": lambda monkeypatch: backend.set_default_device("gpu"),
    "tensor(device=gpu)": lambda monkeypatch: tensor([1.0], device="gpu"),
    "Tensor.to(gpu)": lambda monkeypatch: tensor([1.0], device="cpu").to("gpu"),
}


@pytest.mark.parametrize("ask", ASK_FOR_THE_GPU.values(), ids=ASK_FOR_THE_GPU.keys())
def test_the_gpu_without_cupy_is_an_error_that_says_how_to_install_it(monkeypatch, no_cupy, ask):
    with pytest.raises(backend.DeviceError, match=r"needs CuPy.*pip install 'gradzoo\[gpu\]'"):
        ask(monkeypatch)


def _count_devices(count):
    if isinstance(count, Exception):
        raise count
    return count


@pytest.mark.parametrize("count", [0, RuntimeError("CUDA driver version is insufficient")],
                         ids=["no device", "broken driver"])
def test_cupy_without_a_usable_gpu_is_an_error(monkeypatch, count):
    backend.use_gpu_module(None)
    runtime = types.SimpleNamespace(getDeviceCount=lambda: _count_devices(count))
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=runtime)))
    with pytest.raises(backend.DeviceError, match=r"sees no GPU.*gradzoo\[gpu\]"):
        backend.check_device("gpu")
    assert device_from_env(monkeypatch, "auto") == "cpu"


def test_the_gpu_module_is_imported_as_cupy(monkeypatch):
    backend.use_gpu_module(None)
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    assert backend.gpu_module() is fakecupy
    assert backend.array_module("gpu") is fakecupy and backend.array_module("cpu") is np


# ---------------------------------------------------------------------- moving between devices


def test_to_moves_a_tensor_to_the_gpu_and_back(fake_gpu):
    x = tensor([[1.5, -2.0], [0.25, 4.0]], requires_grad=True, device="cpu")
    on_gpu = x.to("gpu")
    assert on_gpu.device == "gpu" and isinstance(on_gpu.data, fakecupy.ndarray)
    assert on_gpu.dtype == np.float32 and on_gpu.requires_grad and not on_gpu.is_leaf
    back = on_gpu.to("cpu")
    assert back.device == "cpu" and type(back.data) is np.ndarray
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert x.to("cpu") is x and on_gpu.to("gpu") is on_gpu
    (on_gpu * on_gpu).sum().backward()
    # a move is differentiable, as in PyTorch: the gradient comes back to x, on x's device
    assert on_gpu.grad is None and x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy())


def test_a_dtype_conversion_stays_on_the_gpu(fake_gpu):
    x = tensor([1.0, 2.0]).to("float64")
    assert x.device == "gpu" and x.dtype == np.float64


def test_numpy_item_tolist_and_repr_from_the_gpu(fake_gpu):
    x = tensor([[1.0, 2.0], [3.0, 4.0]])
    host = x.numpy()
    assert type(host) is np.ndarray and host.dtype == np.float32
    host[0, 0] = 99.0  # a copy: the tensor is unchanged
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    total = x.sum().item()
    assert total == 10.0 and type(total) is float
    assert tensor([3]).item() == 3 and type(tensor([3]).item()) is int
    assert "device='gpu'" in repr(x)


MIXES = {
    "add": lambda a, b: a + b,
    "matmul": lambda a, b: a @ b,
    "concat": lambda a, b: F.concat([a, b]),
    "where": lambda a, b: F.where(a > 0, a, b),
    "mse_loss": lambda a, b: F.mse_loss(a, b),
    "comparison": lambda a, b: a > b,
    "cross_entropy target": lambda a, b: F.cross_entropy(a, (b > 0).to("int64")[:, 0]),
    "embedding idx": lambda a, b: F.embedding((b > 0).to("int64"), a),
    "where cond": lambda a, b: F.where(b > 0, a, 0.0),
    "attn_mask": lambda a, b: F.scaled_dot_product_attention(a, a, a, attn_mask=b > 0),
    "backward grad": lambda a, b: (a * 2.0).backward(b),
}


@pytest.mark.parametrize("mix", MIXES.values(), ids=MIXES.keys())
@pytest.mark.parametrize("first", ["cpu", "gpu"])
def test_mixing_devices_is_an_error_naming_both(fake_gpu, mix, first):
    a = tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True, device=first)
    other = "gpu" if first == "cpu" else "cpu"
    b = tensor([[0.5, 1.0], [-1.0, 2.0]], device=other)
    with pytest.raises(backend.DeviceError, match=f"'{first}'.*'{other}'|'{other}'.*'{first}'"):
        mix(a, b)


def test_host_data_beside_a_tensor_is_copied_to_its_device(device):
    logits = tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]])
    expected = F.cross_entropy(logits, tensor([2, 0])).item()
    assert F.cross_entropy(logits, [2, 0]).item() == pytest.approx(expected)
    target = np.array([2, 0], dtype=np.int32)
    assert F.cross_entropy(logits, target).item() == pytest.approx(expected)
    assert F.embedding(np.array([1, 0]), logits).device == device
    np.testing.assert_array_equal(F.where([True, False, True], logits, 0.0).numpy(),
                                  [[0.5, 0.0, -1.0], [2.0, 0.0, 1.0]])
    mask = np.tril(np.ones((2, 2), dtype=bool))
    attention = F.scaled_dot_product_attention(logits, logits, logits, attn_mask=mask)
    assert attention.device == device
    assert (logits > np.zeros(3)).numpy().tolist() == [[True, True, False], [True, False, True]]
    assert (logits == [0.5, 0.0, 1.0]).numpy().tolist() == [[True, False, False],
                                                            [False, True, True]]


# ---------------------------------------------------------------------- dtypes


DTYPE_RULES = [  # data, dtype asked for, dtype made
    ([1.5, 2.0], None, np.float32),
    (2.5, None, np.float32),
    (np.array([1.5]), None, np.float32),  # NumPy's float64 too: no silent float64
    ([1, 2], None, np.int64),
    (np.array([1, 2], dtype=np.int32), None, np.int64),
    (np.array([1, 2], dtype=np.uint8), None, np.int64),
    ([True, False], None, np.bool_),
    ([1.5, 2.0], "float64", np.float64),
    (np.array([1.5]), np.float64, np.float64),
    ([1, 2], "float32", np.float32),
    ([1.0, 2.0], "int64", np.int64),
]


@pytest.mark.parametrize("data, dtype, expected", DTYPE_RULES)
def test_make_array_dtype_rules(device, data, dtype, expected):
    array = backend.make_array(data, dtype, device)
    assert backend.device_of(array) == device and array.dtype == expected
    # the same rules for an array already on the device, whatever its dtype
    already_there = backend.to_device(np.asarray(data), device)
    assert backend.make_array(already_there, dtype, device).dtype == expected
    assert tensor(data, dtype=dtype).dtype == expected


def test_float64_stays_float64_through_ops(device):
    x = tensor([[0.5, -1.0, 2.0]], dtype="float64", requires_grad=True)
    y = F.layer_norm(F.softmax(x * 2.0 + 1, dim=-1), 3) @ tensor([[1.0], [2.0], [3.0]],
                                                                 dtype="float64")
    y.sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64 and x.grad.device == device


# ---------------------------------------------------------------------- every op, every device


def tiny_network(leaf, const):
    """Embedding, two causal attention heads, layer norm, dropout, an MLP, pooling, two losses."""
    tokens = const([[0, 3, 1, 3], [2, 2, 0, 1]])  # (batch 2, length 4)
    x = F.embedding(tokens, leaf(4, 8))  # (2, 4, 8)
    q, k, v = x @ leaf(8, 8), x @ leaf(8, 8), x @ leaf(8, 8)
    heads = [F.scaled_dot_product_attention(q[..., h:h + 4], k[..., h:h + 4], v[..., h:h + 4],
                                            is_causal=True) for h in (0, 4)]
    x = F.layer_norm(x + F.concat(heads, dim=-1), 8, leaf(8), leaf(8))
    x = F.dropout(x, p=0.25)
    x = x + F.gelu(x @ leaf(8, 16) + leaf(16)) @ leaf(16, 8)
    pooled = F.stack([x.amax(dim=1), x.mean(dim=1)], dim=1)  # (2, 2, 8)
    pooled = F.where(pooled > 0, pooled, 0.1 * pooled)
    logits = pooled.reshape(2, 16) @ leaf(16, 5)
    picked = x[:, const([0, 2, 2])] @ leaf(8, 5)  # positions picked by an integer array
    return (F.cross_entropy(logits, const([1, 4]))
            + F.cross_entropy(picked, const([[0, 1, -100], [4, 4, 2]])))


MASK = [[True, False, True], [False, False, True], [True, True, True], [False, True, False]]
SAMPLES = {  # name: (leaf, const) -> output; leaf(*shape, low=) is a random input needing grad
    "add": lambda leaf, const: leaf(2, 3) + leaf(3),
    "add scalars": lambda leaf, const: 1.5 + leaf(2, 3) + np.float32(0.5),
    "sub": lambda leaf, const: leaf(2, 3) - leaf(2, 1),
    "rsub": lambda leaf, const: 1.0 - leaf(3),
    "mul": lambda leaf, const: leaf(2, 3) * leaf(1, 3),
    "mul numpy scalar": lambda leaf, const: np.float32(2.0) * leaf(3),
    "div": lambda leaf, const: leaf(2, 3) / leaf(3, low=0.5),
    "rdiv": lambda leaf, const: 1.0 / leaf(2, 3, low=0.5),
    "neg": lambda leaf, const: -leaf(2, 3),
    "pow": lambda leaf, const: leaf(2, 3, low=0.5) ** 3.0,
    "pow tensor exponent": lambda leaf, const: leaf(3, low=0.5) ** leaf(2, 3),
    "rpow": lambda leaf, const: 2.0 ** leaf(2, 3),
    "exp": lambda leaf, const: leaf(2, 3).exp(),
    "log": lambda leaf, const: leaf(2, 3, low=0.1).log(),
    "tanh": lambda leaf, const: F.tanh(leaf(2, 3)),
    "sigmoid": lambda leaf, const: F.sigmoid(leaf(2, 3)),
    "relu": lambda leaf, const: F.relu(leaf(2, 3)),
    # elementwise functions and activations (issue 14)
    "abs sign": lambda leaf, const: leaf(2, 3).abs() + leaf(3).sign(),
    "sqrt rsqrt": lambda leaf, const: leaf(2, 3, low=0.1).sqrt() * leaf(3, low=0.1).rsqrt(),
    "sin cos": lambda leaf, const: leaf(2, 3).sin() + leaf(3).cos(),
    "log1p expm1 erf": lambda leaf, const: leaf(3, low=0.1).log1p() + leaf(2, 3).expm1().erf(),
    "floor ceil round": lambda leaf, const: leaf(2, 3).floor() + leaf(3).ceil() + leaf(3).round(),
    "clamp numbers": lambda leaf, const: leaf(2, 3).clamp(-0.5, 0.5),
    "clamp tensors": lambda leaf, const: leaf(2, 3).clamp(leaf(3) - 0.5, leaf(2, 1) + 0.5),
    "minimum maximum": lambda leaf, const: leaf(2, 3).minimum(leaf(3)) + leaf(3).maximum(
        leaf(2, 1)),
    "remainder": lambda leaf, const: leaf(2, 3) % leaf(3, low=0.5) + leaf(3) % 0.75,
    "floor_divide": lambda leaf, const: ((x := leaf(2, 3)) // 0.5).detach() + x,
    "softplus logsigmoid": lambda leaf, const: F.softplus(leaf(2, 3), 2.0, 1.0) + F.logsigmoid(
        leaf(3)),
    "silu leaky_relu elu": lambda leaf, const: F.silu(leaf(2, 3)) + F.leaky_relu(leaf(3), 0.2)
    + F.elu(leaf(3)),
    "hardtanh": lambda leaf, const: F.hardtanh(leaf(2, 3), -0.5, 0.5),
    "gelu": lambda leaf, const: F.gelu(leaf(2, 3)),
    "gelu tanh": lambda leaf, const: F.gelu(leaf(2, 3), approximate="tanh"),
    "sum": lambda leaf, const: leaf(2, 3, 4).sum(),
    "sum dims": lambda leaf, const: leaf(2, 3, 4).sum(dim=(0, 2)),
    "sum keepdim": lambda leaf, const: leaf(2, 3, 4).sum(dim=-1, keepdim=True),
    "mean": lambda leaf, const: leaf(2, 3, 4).mean(),
    "mean dim": lambda leaf, const: leaf(2, 3, 4).mean(dim=1),
    "max": lambda leaf, const: leaf(2, 3, 4).max(),
    "max dim": lambda leaf, const: leaf(2, 3, 4).max(dim=-1, keepdim=True).values,
    "amax ties": lambda leaf, const: (leaf(2, 3) * 0.0 + 1.0).amax(dim=1),
    "min dim": lambda leaf, const: leaf(2, 3, 4).min(dim=1).values,
    "amin dims": lambda leaf, const: leaf(2, 3, 4).amin(dim=(0, 2)),
    "prod with a zero": lambda leaf, const: (leaf(2, 3) * const([1.0, 0.0, 1.0])).prod(dim=1),
    "var": lambda leaf, const: leaf(2, 3, 4).var(dim=(0, 2), keepdim=True),
    "std": lambda leaf, const: leaf(2, 3, 4).std(dim=1, correction=0),
    "logsumexp": lambda leaf, const: leaf(2, 3, 4).logsumexp(dim=-1),
    "norm": lambda leaf, const: leaf(2, 3).norm(dim=1),
    "norm inf": lambda leaf, const: leaf(2, 3).norm(p=float("inf")),
    "cumsum": lambda leaf, const: leaf(2, 3).cumsum(dim=1),
    "cumprod with a zero": lambda leaf, const: (leaf(2, 3) * const([1.0, 0.0, 1.0])).cumprod(1),
    "sort": lambda leaf, const: leaf(2, 5).sort(dim=-1, descending=True).values,
    "topk": lambda leaf, const: leaf(3, 4).topk(2, dim=0).values,
    "reshape": lambda leaf, const: leaf(2, 3, 4).reshape(4, -1),
    "transpose": lambda leaf, const: leaf(2, 3, 4).transpose(0, 2),
    "permute": lambda leaf, const: leaf(2, 3, 4).permute(2, 0, 1),
    "T": lambda leaf, const: leaf(2, 3).T,
    # casts, spellings and layout (issue 14)
    "cast there and back": lambda leaf, const: leaf(2, 3).double().exp().float(),
    "clone contiguous": lambda leaf, const: leaf(2, 3).clone() + leaf(3, 2).t().contiguous(),
    "expand": lambda leaf, const: leaf(3, 1).expand(2, 3, 4),
    "repeat": lambda leaf, const: leaf(2, 3).repeat(2, 1, 2),
    "flip": lambda leaf, const: leaf(2, 3, 4).flip(0, -1),
    "div rounded": lambda leaf, const: leaf(2, 3).div(0.7, rounding_mode="floor") + leaf(3).div(
        leaf(2, 3, low=0.5), rounding_mode="trunc"),
    "unsqueeze squeeze": lambda leaf, const: leaf(2, 3).unsqueeze(1).squeeze(1),
    "getitem slice": lambda leaf, const: leaf(4, 3)[1:3, ::2],
    "getitem int": lambda leaf, const: leaf(4, 3)[-2],
    "getitem None ellipsis": lambda leaf, const: leaf(2, 3)[None, ..., 1],
    "getitem int tensor": lambda leaf, const: leaf(4, 3)[const([0, 2, 0])],
    "getitem list": lambda leaf, const: leaf(4, 3)[[1, 1, 3]],
    "getitem numpy index": lambda leaf, const: leaf(4, 3)[np.array([3, 0, 3])],
    "getitem slice and array": lambda leaf, const: leaf(4, 3)[:, const([2, 0, 2])],
    "getitem two arrays": lambda leaf, const: leaf(4, 3)[const([0, 3, 0]), const([1, 2, 1])],
    "getitem mask": lambda leaf, const: leaf(4, 3)[const(MASK)],
    "concat": lambda leaf, const: F.concat([leaf(2, 3), leaf(1, 3)], dim=0),
    "concat last dim": lambda leaf, const: F.concat([leaf(2, 3), leaf(2, 1), leaf(2, 2)], dim=-1),
    "stack": lambda leaf, const: F.stack([leaf(2, 3), leaf(2, 3), leaf(2, 3)], dim=1),
    "where": lambda leaf, const: F.where(const(MASK), leaf(4, 3), leaf(3)),
    "where scalar": lambda leaf, const: F.where(const(MASK), leaf(4, 3), 0.0),
    "matmul": lambda leaf, const: leaf(2, 3) @ leaf(3, 4),
    "matmul broadcast batch": lambda leaf, const: leaf(2, 1, 2, 3) @ leaf(3, 3, 2),
    "matmul vector matrix": lambda leaf, const: leaf(3) @ leaf(3, 2),
    "matmul matrix vector": lambda leaf, const: leaf(2, 3) @ leaf(3),
    "matmul vector vector": lambda leaf, const: leaf(3) @ leaf(3),
    "matmul vector batch": lambda leaf, const: leaf(3) @ leaf(2, 3, 4),
    "softmax": lambda leaf, const: F.softmax(leaf(2, 5)),
    "softmax dim 0": lambda leaf, const: leaf(2, 5).softmax(dim=0),
    "log_softmax": lambda leaf, const: F.log_softmax(leaf(2, 3, 5), dim=1),
    "layer_norm": lambda leaf, const: F.layer_norm(leaf(2, 3, 4), 4, leaf(4), leaf(4)),
    "layer_norm no affine": lambda leaf, const: F.layer_norm(leaf(2, 3, 4), (3, 4)),
    "layer_norm weight only": lambda leaf, const: F.layer_norm(leaf(3, 4), [4], weight=leaf(4)),
    "cross_entropy": lambda leaf, const: F.cross_entropy(leaf(4, 5), const([1, 0, 4, 4])),
    "cross_entropy ignore_index": lambda leaf, const: F.cross_entropy(
        leaf(2, 3, 5), const([[1, -100, 4], [0, 2, -100]])),
    "mse_loss": lambda leaf, const: F.mse_loss(leaf(2, 3), leaf(2, 3)),
    "binary_cross_entropy": lambda leaf, const: F.binary_cross_entropy(
        leaf(2, 3).sigmoid(), leaf(2, 3).sigmoid(), weight=const([1.0, 2.0, 0.5])),
    "binary_cross_entropy_with_logits": lambda leaf, const: F.binary_cross_entropy_with_logits(
        leaf(2, 3), leaf(2, 3).sigmoid(), pos_weight=const([1.0, 2.0, 0.5]), reduction="none"),
    "cross_entropy weight, smoothing": lambda leaf, const: F.cross_entropy(
        leaf(4, 3), const([1, 0, -100, 2]), weight=const([1.0, 2.0, 0.5]), label_smoothing=0.1),
    "attention float mask with grad": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(2, 3, 4), leaf(2, 5, 4), leaf(2, 5, 2), attn_mask=leaf(3, 5)),
    "embedding": lambda leaf, const: F.embedding(const([[0, 2], [2, 2]]), leaf(3, 4)),
    "dropout": lambda leaf, const: F.dropout(leaf(4, 5), p=0.5),
    "attention": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(2, 3, 4), leaf(2, 5, 4), leaf(2, 5, 2)),
    "attention causal": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(2, 3, 4), leaf(2, 3, 4), leaf(2, 3, 2), is_causal=True),
    "attention bool mask, a row fully masked": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(4, 2), leaf(3, 2), leaf(3, 2), attn_mask=const([[True, False, True], [False] * 3,
                                                             [True] * 3, [False, True, False]])),
    "attention float mask": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(3, 2), leaf(3, 2), leaf(3, 2), attn_mask=const(np.triu(np.full((3, 3), -1e9), 1))),
    "attention broadcast batch": lambda leaf, const: F.scaled_dot_product_attention(
        leaf(2, 2, 3, 4), leaf(1, 5, 4), leaf(2, 1, 5, 3)),
    "linear": lambda leaf, const: F.linear(leaf(2, 3, 4), leaf(5, 4), leaf(5)),
    "linear no bias, 1-D input": lambda leaf, const: F.linear(leaf(4), leaf(5, 4)),
    "lstm cell": lambda leaf, const: ops.LSTMCell.apply(
        leaf(3, 4), leaf(3, 2), leaf(3, 2), leaf(8, 4), leaf(8, 2), leaf(8), leaf(8),
        has_bias=True),
    "gru cell": lambda leaf, const: ops.GRUCell.apply(
        leaf(3, 4), leaf(3, 2), leaf(6, 4), leaf(6, 2), leaf(6), leaf(6), has_bias=True),
    "gru cell no bias": lambda leaf, const: ops.GRUCell.apply(
        leaf(4), leaf(2), leaf(6, 4), leaf(6, 2)),
    # ---- indexing, masks and padding ----
    "gather": lambda leaf, const: leaf(3, 4).gather(1, const([[0, 3, 3], [1, 1, 0]])),
    "scatter": lambda leaf, const: leaf(3, 4).scatter(1, const([[0, 3], [2, 1]]), leaf(2, 2)),
    "scatter value": lambda leaf, const: leaf(3, 4).scatter(0, const([[0, 2]]), 0.5),
    "scatter_add": lambda leaf, const: leaf(3, 4).scatter_add(0, const([[2, 2, 0]]), leaf(1, 3)),
    "index_select": lambda leaf, const: leaf(3, 4).index_select(1, const([3, 0, 3])),
    "masked_select": lambda leaf, const: leaf(4, 3).masked_select(const(MASK)),
    "masked_fill, tril": lambda leaf, const: leaf(4, 3).masked_fill(const(MASK), -1.0).tril(),
    "pad": lambda leaf, const: F.pad(leaf(2, 3), (1, 2, 0, 1), value=0.5),
    "pad reflect": lambda leaf, const: F.pad(leaf(2, 3, 4), (2, 1), mode="reflect"),
    # ---- convolution (issue 15)
    "conv2d": lambda leaf, const: F.conv2d(leaf(2, 3, 5, 6), leaf(4, 3, 3, 2), leaf(4),
                                           stride=(2, 1), padding=1),
    "conv_transpose2d": lambda leaf, const: F.conv_transpose2d(
        leaf(2, 3, 4, 3), leaf(3, 2, 3, 4), leaf(2), stride=2, padding=(1, 0),
        output_padding=1),
    # ---- pooling and upsampling (issue 15)
    "max_pool2d": lambda leaf, const: F.max_pool2d(leaf(2, 3, 7, 6), (3, 2), (2, 1), (1, 1)),
    "avg_pool2d": lambda leaf, const: F.avg_pool2d(leaf(2, 3, 5, 6), 2, padding=1),
    "interpolate": lambda leaf, const: F.interpolate(leaf(2, 3, 3, 4), scale_factor=(2, 3)),
    # ---- normalisation (issue 15)
    "group_norm": lambda leaf, const: F.group_norm(leaf(2, 6, 3, 5), 3, leaf(6), leaf(6)),
    "batch_norm training": lambda leaf, const: F.batch_norm(
        leaf(4, 3, 2, 5), const([0.0, 1.0, -1.0]), const([1.0, 2.0, 0.5]), leaf(3), leaf(3),
        training=True),
    "batch_norm eval": lambda leaf, const: F.batch_norm(
        leaf(2, 3, 4), const([0.0, 1.0, -1.0]), const([1.0, 2.0, 0.5]), leaf(3), leaf(3)),
    "tiny network": tiny_network,
}


def _host_dropout_masks(shape, device, dtype):
    """Dropout's uniform draws, from the host so that both devices drop the same elements."""
    values = np.random.default_rng(sum(shape)).random(shape, dtype=dtype)
    return backend.to_device(values, device)


def run_sample(sample, device: str):
    """Run a sample on ``device``; check where its values live; return them on the host."""
    rng = np.random.default_rng(0)
    leaves = []

    def leaf(*shape, low=None):
        values = rng.standard_normal(shape)
        leaves.append(tensor(values if low is None else low + np.abs(values),
                             requires_grad=True, device=device))
        return leaves[-1]

    dropout_module = sys.modules[ops.Dropout.__module__]
    with mock.patch.object(dropout_module, "random_uniform", _host_dropout_masks):
        out = sample(leaf, lambda values: tensor(values, device=device))
    weights = tensor(rng.standard_normal(out.shape), device=device)  # every grad element differs
    (out * weights).sum().backward()
    for t in [out] + [t.grad for t in leaves]:
        assert t.device == device and backend.device_of(t.data) == device
        assert backend.is_array(t.data) and t.dtype == np.float32
    return out.numpy(), [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("name", SAMPLES)
def test_every_op_forward_and_backward_on_every_device(device, name):
    out, grads = run_sample(SAMPLES[name], device)
    expected_out, expected_grads = run_sample(SAMPLES[name], "cpu")
    np.testing.assert_allclose(out, expected_out, rtol=1e-4, atol=1e-5)
    for grad, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)


def test_the_samples_cover_every_op():
    with recording_ops() as seen:
        for sample in SAMPLES.values():
            run_sample(sample, "cpu")
    missing = sorted(op.__name__ for op in engine_ops() - seen)
    assert not missing, f"add a sample to SAMPLES in {__file__} for: {', '.join(missing)}"


def test_dropout_draws_its_mask_on_the_device(device):
    x = tensor(np.linspace(1.0, 2.0, 2000).reshape(40, 50), requires_grad=True)
    y = F.dropout(x, p=0.25)
    y.sum().backward()
    kept = y.numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.75, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)
    assert y.device == x.grad.device == device and y.dtype == np.float32
    manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, p=0.25).numpy() != 0, kept)  # seeded


def test_keeping_freed_memory_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("GRADZOO_KEEP_MEMORY", "0")
    assert backend.keep_freed_memory() is False
    monkeypatch.delenv("GRADZOO_KEEP_MEMORY")
    assert backend.keep_freed_memory() in (True, False)  # True on Linux with glibc
