"""What every framework's side of a benchmark shares: the sizes, the weights and the data.

Weights and batches are drawn here, once, with NumPy from fixed seeds, and each
side loads the same arrays (parameter names follow gradzoo's zoo GPT and
PyTorch's LSTM), so gradzoo and PyTorch time exactly the same computation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class GPTSize:
    vocab: int = 65
    layers: int = 4
    heads: int = 4
    width: int = 128
    context: int = 64
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2

    @property
    def tokens(self) -> int:
        """Tokens seen by one training step."""
        return self.batch * self.context


@dataclass(frozen=True)
class LSTMSize:
    vocab: int = 65
    embed: int = 128
    hidden: int = 256
    steps: int = 64
    batch: int = 32
    lr: float = 1e-3


@dataclass(frozen=True)
class MatmulSize:
    m: int = 512
    k: int = 1024
    n: int = 512

    @property
    def flops(self) -> float:
        """Floating-point operations of the three products (forward C = AB, dA, dB)."""
        return 3 * 2.0 * self.m * self.k * self.n


@dataclass(frozen=True)
class UNetSize:
    """The default image U-Net of ``diffusion`` on ``shapes`` (16x16), one training batch."""

    size: int = 16
    channels: int = 16
    embedding: int = 32
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-2


# The sizes the issue names; --quick shrinks them so a run takes seconds; --gpu grows the GPT.
FULL = {"gpt": GPTSize(), "lstm": LSTMSize(), "matmul": MatmulSize(), "overhead": 16,
        "unet": UNetSize()}
QUICK = {"gpt": GPTSize(layers=1, width=32, context=16, batch=4),
         "lstm": LSTMSize(embed=16, hidden=32, steps=8, batch=4),
         "matmul": MatmulSize(64, 128, 64), "overhead": 16,
         "unet": UNetSize(size=8, channels=8, batch=4)}
GPU = {"gpt": GPTSize(layers=6, heads=6, width=384, context=256, batch=64)}
QUICK_GPU = {"gpt": GPTSize(layers=1, heads=2, width=64, context=32, batch=4)}


def sizes(quick: bool, gpu: bool = False) -> dict:
    """The workload sizes of a run."""
    chosen = dict(QUICK if quick else FULL)
    if gpu:
        chosen.update(QUICK_GPU if quick else GPU)
    return chosen


def describe(size) -> dict:
    return asdict(size) if hasattr(size, "__dataclass_fields__") else {"size": size}


# ---------------------------------------------------------------------- weights and data


def _uniform(rng, bound: float, *shape: int) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def gpt_weights(size: GPTSize, seed: int = 0) -> dict[str, np.ndarray]:
    """Initial GPT weights, named as gradzoo's zoo GPT names them (PyTorch's Linear layout)."""
    rng = np.random.default_rng(seed)
    w, weights = size.width, {}
    weights["token_embedding.weight"] = rng.normal(0, 0.02, (size.vocab, w)).astype(np.float32)
    weights["position_embedding.weight"] = rng.normal(0, 0.02, (size.context, w)).astype(
        np.float32)

    def linear(name, fan_in, fan_out, bias=True):
        bound = 1.0 / np.sqrt(fan_in)
        weights[f"{name}.weight"] = _uniform(rng, bound, fan_out, fan_in)
        if bias:
            weights[f"{name}.bias"] = _uniform(rng, bound, fan_out)

    def layer_norm(name):
        weights[f"{name}.weight"] = np.ones(w, np.float32)
        weights[f"{name}.bias"] = np.zeros(w, np.float32)

    for i in range(size.layers):
        block = f"blocks.{i}"
        layer_norm(f"{block}.ln_1")
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            linear(f"{block}.attn.{proj}", w, w)
        layer_norm(f"{block}.ln_2")
        linear(f"{block}.mlp.fc", w, 4 * w)
        linear(f"{block}.mlp.proj", 4 * w, w)
    layer_norm("ln_f")
    linear("head", w, size.vocab, bias=False)
    return weights


def gpt_batch(size: GPTSize, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (batch, context) and their next-token targets."""
    rng = np.random.default_rng(seed)
    stream = rng.integers(0, size.vocab, size=(size.batch, size.context + 1))
    return stream[:, :-1].astype(np.int64), stream[:, 1:].astype(np.int64)


def lstm_weights(size: LSTMSize, seed: int = 0) -> dict[str, np.ndarray]:
    """Embedding, one LSTM layer (PyTorch's names for a cell) and the head."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(size.hidden)
    rows = 4 * size.hidden
    head_bound = 1.0 / np.sqrt(size.hidden)
    return {
        "embedding.weight": rng.normal(0, 1, (size.vocab, size.embed)).astype(np.float32),
        "cell.weight_ih": _uniform(rng, bound, rows, size.embed),
        "cell.weight_hh": _uniform(rng, bound, rows, size.hidden),
        "cell.bias_ih": _uniform(rng, bound, rows),
        "cell.bias_hh": _uniform(rng, bound, rows),
        "head.weight": _uniform(rng, head_bound, size.vocab, size.hidden),
        "head.bias": _uniform(rng, head_bound, size.vocab),
    }


def lstm_batch(size: LSTMSize, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    stream = rng.integers(0, size.vocab, size=(size.batch, size.steps + 1))
    return stream[:, :-1].astype(np.int64), stream[:, 1:].astype(np.int64)


def matmul_operands(size: MatmulSize, seed: int = 2):
    """A (m, k), B (k, n) and the output gradient G (m, n), float32."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((size.m, size.k), dtype=np.float32),
            rng.standard_normal((size.k, size.n), dtype=np.float32),
            rng.standard_normal((size.m, size.n), dtype=np.float32))


def overhead_operands(n: int):
    return (np.linspace(-1, 1, n, dtype=np.float32), np.linspace(0.5, 2, n, dtype=np.float32))


def unet_weights(size: UNetSize, seed: int = 0) -> dict[str, np.ndarray]:
    """The zoo U-Net's own initial weights (PyTorch's default init), as NumPy arrays by name.

    Drawn by gradzoo (seeded), then handed to both sides as plain arrays.
    """
    from gradzoo.engine import manual_seed
    from gradzoo.zoo.models.unet import UNet

    manual_seed(seed)
    model = UNet((size.size, size.size), size.channels, size.embedding)
    return {name: value.numpy() for name, value in model.state_dict().items()}


def unet_batch(size: UNetSize, seed: int = 3):
    """x_t (B, 1, H, W), the time embeddings (B, E) of random steps, and the noise eps."""
    rng = np.random.default_rng(seed)
    shape = (size.batch, 1, size.size, size.size)
    steps = rng.integers(1, 101, size=size.batch)
    half = size.embedding // 2
    angles = steps[:, None] * np.exp(-np.log(10000.0) * np.arange(half) / half)[None, :]
    embedding = np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32)
    return (rng.standard_normal(shape, dtype=np.float32), embedding,
            rng.standard_normal(shape, dtype=np.float32))
