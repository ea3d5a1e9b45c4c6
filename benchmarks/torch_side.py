"""The same workloads in PyTorch (eager mode), loaded with the same weights and data."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks import shared

if os.environ.get("OMP_NUM_THREADS"):  # the runner's --threads: the same for every framework
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _load(model: nn.Module, weights: dict, device: str) -> None:
    state = {name: torch.from_numpy(value) for name, value in weights.items()}
    model.load_state_dict(state)
    model.to(device)


# ---------------------------------------------------------------------- W1: GPT training step


class Attention(nn.Module):
    """Causal self-attention with gradzoo's layout: q, k, v and out projections apart."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.v_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x):
        batch, length, width = x.shape

        def split(t):
            return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out_proj(heads.transpose(1, 2).reshape(batch, length, width))


class MLP(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc, self.proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(width), Attention(width, heads)
        self.ln_2, self.mlp = nn.LayerNorm(width), MLP(width)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, size: shared.GPTSize):
        super().__init__()
        self.token_embedding = nn.Embedding(size.vocab, size.width)
        self.position_embedding = nn.Embedding(size.context, size.width)
        self.blocks = nn.ModuleList([Block(size.width, size.heads) for _ in range(size.layers)])
        self.ln_f = nn.LayerNorm(size.width)
        self.head = nn.Linear(size.width, size.vocab, bias=False)

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def gpt_step(size: shared.GPTSize, device: str):
    model = GPT(size)
    _load(model, shared.gpt_weights(size), device)
    inputs, targets = (torch.from_numpy(a).to(device) for a in shared.gpt_batch(size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=size.lr, weight_decay=size.weight_decay)

    def step():
        optimizer.zero_grad()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, size.vocab), targets.reshape(-1))
        loss.backward()
        optimizer.step()
    return step


# ---------------------------------------------------------------------- W2: LSTM LM step


class LSTMLanguageModel(nn.Module):
    """``fused=True``: one ``nn.LSTM`` over the whole sequence; else ``LSTMCell`` in a loop."""

    def __init__(self, size: shared.LSTMSize, fused: bool):
        super().__init__()
        self.fused = fused
        self.embedding = nn.Embedding(size.vocab, size.embed)
        if fused:
            self.lstm = nn.LSTM(size.embed, size.hidden, batch_first=True)
        else:
            self.cell = nn.LSTMCell(size.embed, size.hidden)
        self.head = nn.Linear(size.hidden, size.vocab)

    def forward(self, tokens):
        x = self.embedding(tokens)
        if self.fused:
            out, _ = self.lstm(x)
        else:
            state, outputs = None, []
            for t in range(tokens.shape[1]):
                state = self.cell(x[:, t], state)
                outputs.append(state[0])
            out = torch.stack(outputs, dim=1)
        return self.head(out)


def _lstm_names(weights: dict, fused: bool) -> dict:
    """nn.LSTM calls the cell's weights ``lstm.weight_ih_l0``...; LSTMCell ``cell.weight_ih``."""
    if not fused:
        return weights
    return {(name.replace("cell.", "lstm.") + "_l0" if name.startswith("cell.") else name): value
            for name, value in weights.items()}


def lstm_step(size: shared.LSTMSize, device: str, fused: bool):
    model = LSTMLanguageModel(size, fused)
    _load(model, _lstm_names(shared.lstm_weights(size), fused), device)
    inputs, targets = (torch.from_numpy(a).to(device) for a in shared.lstm_batch(size))
    optimizer = torch.optim.Adam(model.parameters(), lr=size.lr)

    def step():
        optimizer.zero_grad()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, size.vocab), targets.reshape(-1))
        loss.backward()
        optimizer.step()
    return step


# ---------------------------------------------------------------------- W3, W4


def op_overhead(n: int, device: str):
    a, b = shared.overhead_operands(n)
    x = torch.tensor(a, requires_grad=True, device=device)
    y = torch.tensor(b, requires_grad=True, device=device)

    def step():
        x.grad = y.grad = None
        (x * y + x).sum().backward()
    return step


def matmul(size: shared.MatmulSize, device: str):
    a, b, g = (torch.from_numpy(t).to(device) for t in shared.matmul_operands(size))
    a.requires_grad_(True)
    b.requires_grad_(True)

    def step():
        a.grad = b.grad = None
        (a @ b).backward(g)
    return step


def synchronizer(device: str):
    """A function that waits for the GPU's queue (None on the CPU)."""
    return torch.cuda.synchronize if device == "cuda" else None
