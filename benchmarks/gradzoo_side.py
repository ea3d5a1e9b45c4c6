"""The workloads written with gradzoo's engine (and, for ``gpt_step_zoo``, its model zoo)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks import shared
from gradzoo.engine import F, Tensor, backend, nn, optim, tensor


def _load(model: nn.Module, weights: dict, device: str) -> None:
    model.load_state_dict({name: tensor(value, device=device) for name, value in weights.items()})


# ---------------------------------------------------------------------- W1: GPT training step


class MLP(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    """Pre-LayerNorm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)) with a 4x GELU MLP."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, is_causal=True)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, size: shared.GPTSize):
        super().__init__()
        self.token_embedding = nn.Embedding(size.vocab, size.width)
        self.position_embedding = nn.Embedding(size.context, size.width)
        self.blocks = nn.ModuleList([Block(size.width, size.heads) for _ in range(size.layers)])
        self.ln_f = nn.LayerNorm(size.width)
        self.head = nn.Linear(size.width, size.vocab, bias=False)

    def forward(self, tokens: Tensor) -> Tensor:
        positions = backend.array_module(tokens.device).arange(tokens.shape[1])  # as the zoo's
        x = self.token_embedding(tokens) + self.position_embedding(Tensor(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def gpt_step(size: shared.GPTSize, device: str, zoo: bool = False):
    """One AdamW step of the GPT: zero_grad, forward, loss, backward, step."""
    weights = shared.gpt_weights(size)
    inputs, targets = shared.gpt_batch(size)
    tokens, labels = tensor(inputs, device=device), tensor(targets, device=device)
    if zoo:
        model = _zoo_gpt(size)
        batch = SimpleNamespace(inputs=tokens, targets=labels)

        def loss():
            return model.loss(batch)
    else:
        model = GPT(size)

        def loss():
            logits = model(tokens)
            return F.cross_entropy(logits, labels)
    model.to(device)
    _load(model, weights, device)
    optimizer = optim.AdamW(model.parameters(), lr=size.lr, weight_decay=size.weight_decay)

    def step():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    return step


def _zoo_gpt(size: shared.GPTSize):
    """The model ``gradzoo train gpt`` builds, found through the plugin registry."""
    from gradzoo.plugins.manager import get_registry

    spec = get_registry().model("gpt")
    task = SimpleNamespace(kind="language", vocab_size=size.vocab, context=size.context)
    return spec.build(task, {"width": size.width, "layers": size.layers, "heads": size.heads,
                             "dropout": 0.0})


# ---------------------------------------------------------------------- W2: LSTM LM step


class LSTMLanguageModel(nn.Module):
    def __init__(self, size: shared.LSTMSize):
        super().__init__()
        self.embedding = nn.Embedding(size.vocab, size.embed)
        self.cell = nn.LSTMCell(size.embed, size.hidden)
        self.head = nn.Linear(size.hidden, size.vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embedding(tokens)                 # (batch, steps, embed)
        state, outputs = None, []
        for t in range(tokens.shape[1]):
            state = self.cell(x[:, t], state)
            outputs.append(state[0])
        return self.head(F.stack(outputs, dim=1))  # (batch, steps, vocab)


def lstm_step(size: shared.LSTMSize, device: str):
    model = LSTMLanguageModel(size).to(device)
    _load(model, shared.lstm_weights(size), device)
    inputs, targets = shared.lstm_batch(size)
    tokens, labels = tensor(inputs, device=device), tensor(targets, device=device)
    optimizer = optim.Adam(model.parameters(), lr=size.lr)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
    return step


# ---------------------------------------------------------------------- W3, W4


def op_overhead(n: int, device: str):
    a, b = shared.overhead_operands(n)
    x, y = tensor(a, requires_grad=True, device=device), tensor(b, requires_grad=True,
                                                                device=device)

    def step():
        x.grad = y.grad = None
        (x * y + x).sum().backward()
    return step


def matmul(size: shared.MatmulSize, device: str):
    a, b, g = shared.matmul_operands(size)
    left = tensor(a, requires_grad=True, device=device)
    right = tensor(b, requires_grad=True, device=device)
    grad = tensor(g, device=device)

    def step():
        left.grad = right.grad = None
        (left @ right).backward(grad)
    return step


# ---------------------------------------------------------------------- W6: U-Net step


def unet_step(size: shared.UNetSize, device: str):
    """One AdamW step of the zoo's diffusion U-Net: |eps - eps_theta(x_t, t)|^2, backward, step."""
    from gradzoo.zoo.models.unet import UNet

    model = UNet((size.size, size.size), size.channels, size.embedding).to(device)
    _load(model, shared.unet_weights(size), device)
    x_t, embedding, eps = (tensor(a, device=device) for a in shared.unet_batch(size))
    optimizer = optim.AdamW(model.parameters(), lr=size.lr, weight_decay=size.weight_decay)

    def step():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x_t, embedding), eps)
        loss.backward()
        optimizer.step()
    step.first_loss = F.mse_loss(model(x_t, embedding), eps).item()
    step.products = recorded_products(lambda: F.mse_loss(model(x_t, embedding), eps).backward())
    return step


def recorded_products(run) -> list[tuple[tuple, tuple]]:
    """The (left, right) operand shapes of every matrix product one ``run()`` makes.

    Convolutions as im2col makes them (forward, input and weight gradients), linear
    layers and attention likewise: what a NumPy engine cannot do without.
    """
    from gradzoo.engine import hooks

    products = []

    def seen(fn):
        products.extend(_products_of(fn))
    with hooks.op_recorded(seen):
        run()
    return products


def _products_of(fn) -> list[tuple[tuple, tuple]]:
    """The three (or six) products of one recorded op, as operand shapes."""
    name, shapes = type(fn).__name__, [tuple(t.shape) for t in fn.inputs]
    if name == "Conv2d":
        (n, _, _, _), (o, c, kh, kw) = shapes[0], shapes[1]
        pixels, k = n * fn.out_size[0] * fn.out_size[1], c * kh * kw
        return [((o, k), (k, pixels)), ((k, o), (o, pixels)), ((o, pixels), (pixels, k))]
    if name == "ConvTranspose2d":
        (n, c_in, h, w), (_, c_out, kh, kw) = shapes[0], shapes[1]
        pixels, k = n * h * w, c_out * kh * kw
        return [((k, c_in), (c_in, pixels)), ((c_in, k), (k, pixels)),
                ((c_in, pixels), (pixels, k))]
    if name == "Linear":
        rows, (out, inp) = int(np.prod(shapes[0][:-1])), shapes[1]
        return [((rows, inp), (inp, out)), ((rows, out), (out, inp)), ((out, rows), (rows, inp))]
    if name == "ScaledDotProductAttention":
        q, k, v = shapes[:3]
        lead, (length, e), (keys, ev) = q[:-2], q[-2:], v[-2:]
        return [(lead + (length, e), lead + (e, keys)), (lead + (length, keys), lead + (keys, ev)),
                (lead + (keys, length), lead + (length, ev)),
                (lead + (length, ev), lead + (ev, keys)),
                (lead + (length, keys), lead + (keys, e)),
                (lead + (keys, length), lead + (length, e))]
    return []
