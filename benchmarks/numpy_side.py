"""Raw NumPy yardsticks: the matrix products a framework cannot avoid.

* ``matmul``: C = A B, dA = G B^T, dB = A^T G, the three products of W4.
* ``gpt_matmul_floor``: every matrix product of one GPT training step (each
  Linear's forward and its two backward products, attention's two batched
  products forward and four backward), on arrays of the step's shapes. No
  NumPy engine can take less time than these products alone.
* ``unet_matmul_floor``: the same for one step of the diffusion U-Net (W6): every
  product gradzoo's step makes, recorded from one step (convolutions as im2col
  products, linear layers, attention), on arrays of those shapes.
"""

from __future__ import annotations

import numpy as np

from benchmarks import shared


def matmul(size: shared.MatmulSize, device: str = "cpu"):
    a, b, g = shared.matmul_operands(size)

    def step():
        a @ b
        g @ b.T
        a.T @ g
    return step


def _linear_products(rng, rows: int, fan_in: int, fan_out: int):
    """x (rows, in), W (out, in), grad (rows, out): y = x W^T, dx = g W, dW = g^T x."""
    x = rng.standard_normal((rows, fan_in), dtype=np.float32)
    w = rng.standard_normal((fan_out, fan_in), dtype=np.float32)
    g = rng.standard_normal((rows, fan_out), dtype=np.float32)

    def products():
        x @ w.T
        g @ w
        g.T @ x
    return products


def gpt_matmul_floor(size: shared.GPTSize, device: str = "cpu"):
    rng = np.random.default_rng(0)
    rows, w = size.tokens, size.width
    head_dim = w // size.heads
    linears = []
    for _ in range(size.layers):
        linears += [_linear_products(rng, rows, w, w) for _ in range(4)]  # q, k, v, out
        linears.append(_linear_products(rng, rows, w, 4 * w))
        linears.append(_linear_products(rng, rows, 4 * w, w))
    linears.append(_linear_products(rng, rows, w, size.vocab))
    shape = (size.batch, size.heads, size.context, head_dim)
    q, k, v, g = (rng.standard_normal(shape, dtype=np.float32) for _ in range(4))
    p = rng.standard_normal((size.batch, size.heads, size.context, size.context),
                            dtype=np.float32)

    def attention_products():
        q @ k.swapaxes(-1, -2)   # scores
        p @ v                    # output
        p.swapaxes(-1, -2) @ g   # dV
        g @ v.swapaxes(-1, -2)   # dP
        p @ k                    # dQ
        p.swapaxes(-1, -2) @ q   # dK

    def step():
        for products in linears:
            products()
        for _ in range(size.layers):
            attention_products()
    return step


def unet_matmul_floor(size: shared.UNetSize, device: str = "cpu"):
    from benchmarks import gradzoo_side

    shapes = gradzoo_side.unet_step(size, device).products
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
                for a, b in shapes]

    def step():
        for a, b in operands:
            a @ b
    return step
