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
    """Self-attention with gradzoo's layout: q, k, v and out projections apart."""

    def __init__(self, width: int, heads: int, causal: bool = True):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q_proj, self.k_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.v_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x):
        batch, length, width = x.shape

        def split(t):
            return t.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
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


# ---------------------------------------------------------------------- W6: U-Net step


def _norm(channels: int) -> nn.GroupNorm:
    groups = next(g for g in range(min(8, channels), 0, -1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class ResidualBlock(nn.Module):
    """The zoo's block: skip(x) + conv_2(silu(norm_2(conv_1(silu(norm_1(x))) + W_t silu(e))))."""

    def __init__(self, cin: int, cout: int, time_width: int):
        super().__init__()
        self.norm_1, self.conv_1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_width, cout)
        self.norm_2, self.conv_2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.conv_1(F.silu(self.norm_1(x))) + self.time(F.silu(e))[:, :, None, None]
        return (x if self.skip is None else self.skip(x)) + self.conv_2(F.silu(self.norm_2(h)))


class SelfAttention2d(nn.Module):
    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.norm, self.attention = _norm(channels), Attention(channels, heads, causal=False)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        return x + self.attention(tokens).transpose(1, 2).reshape(b, c, h, w)


class Middle(nn.Module):
    def __init__(self, channels: int, time_width: int):
        super().__init__()
        self.block_1 = ResidualBlock(channels, channels, time_width)
        self.attention = SelfAttention2d(channels, 4)
        self.block_2 = ResidualBlock(channels, channels, time_width)

    def forward(self, x, e):
        return self.block_2(self.attention(self.block_1(x, e)), e)


class UNet(nn.Module):
    """gradzoo/zoo/models/unet.py written in PyTorch, with the same parameter names."""

    def __init__(self, size: shared.UNetSize):
        super().__init__()
        c, t = size.channels, 4 * size.channels
        self.time_mlp = nn.Sequential(nn.Linear(size.embedding, t), nn.SiLU(), nn.Linear(t, t))
        self.conv_in = nn.Conv2d(1, c, 3, padding=1)
        self.down = nn.ModuleList([ResidualBlock(c, c, t), ResidualBlock(c, 2 * c, t)])
        self.downsample = nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1),
                                         nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)])
        self.middle = Middle(2 * c, t)
        self.up = nn.ModuleList([ResidualBlock(3 * c, c, t), ResidualBlock(4 * c, 2 * c, t)])
        self.norm_out, self.conv_out = _norm(c), nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x, embedding):
        e, h, skips = self.time_mlp(embedding), self.conv_in(x), []
        for block, downsample in zip(self.down, self.downsample):
            h = block(h, e)
            skips.append(h)
            h = downsample(h)
        h = self.middle(h, e)
        for block, skip in zip(reversed(self.up), reversed(skips)):
            h = block(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skip], 1), e)
        return self.conv_out(F.silu(self.norm_out(h)))


def unet_step(size: shared.UNetSize, device: str):
    model = UNet(size)
    _load(model, shared.unet_weights(size), device)
    x_t, embedding, eps = (torch.from_numpy(a).to(device) for a in shared.unet_batch(size))
    optimizer = torch.optim.AdamW(model.parameters(), lr=size.lr, weight_decay=size.weight_decay)

    def step():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x_t, embedding), eps)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        step.first_loss = F.mse_loss(model(x_t, embedding), eps).item()
    return step


def synchronizer(device: str):
    """A function that waits for the GPU's queue (None on the CPU)."""
    return torch.cuda.synchronize if device == "cuda" else None
