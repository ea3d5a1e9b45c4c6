"""``MultiheadAttention``: several attention heads side by side (Vaswani et al., 2017).

    head_i = softmax(Q_i K_i^T / sqrt(d_head) + mask) V_i
    Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v
    output = concat(head_1, ..., head_h) W_o^T + b_o

Q asks what each position looks for, K says what each position offers, V is
what is passed on. Each head works on its own ``embed_dim // num_heads`` slice
of Q, K and V, so the heads can look at different things.
"""

from __future__ import annotations

import math

from gradzoo.engine import functional as F
from gradzoo.engine.nn.linear import Linear
from gradzoo.engine.nn.module import Module
from gradzoo.engine.ops.attention import attend, masked_attention_weights
from gradzoo.engine.tensor import Tensor


class MultiheadAttention(Module):
    """Multi-head attention built from four Linear layers: q_proj, k_proj, v_proj, out_proj.

    Inputs are (batch, length, embed_dim) (``batch_first=True``, the default) or
    (length, batch, embed_dim) with ``batch_first=False``. Self-attention passes
    the same tensor three times; cross-attention takes query from the decoder
    and key, value from the encoder.

    ``forward`` returns the output Tensor only (batch, query length, embed_dim),
    not PyTorch's ``(output, weights)`` pair; ``attention_weights`` gives the
    per-head maps.

    ``attn_mask`` follows ``F.scaled_dot_product_attention``: a boolean mask is
    True where a query MAY attend (the opposite of the boolean mask of
    ``torch.nn.MultiheadAttention``, which marks the positions hidden), a float
    mask is added to the scores. It broadcasts against (batch, heads, L, S):
    pass (L, S) for all, or (batch, 1, 1, S) to hide padding keys.
    ``is_causal=True`` lets query i see keys 0..i only.

    Differences from PyTorch to know: the projections are four separate Linear
    layers with Linear's initialisation (PyTorch packs q, k, v into one
    ``in_proj_weight`` with Xavier init and zero biases).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True, device: str | None = None):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                             f"num_heads={num_heads} (each head gets embed_dim // num_heads)")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must lie in [0, 1], got {dropout}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)
        self.k_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)
        self.v_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                is_causal: bool = False) -> Tensor:
        """Attend from each query position over all key/value positions; returns the output."""
        query, key, value = (self._batch_first(t) for t in (query, key, value))
        q = self._split_heads(self.q_proj(query))   # (batch, heads, L, head_dim)
        k = self._split_heads(self.k_proj(key))     # (batch, heads, S, head_dim)
        v = self._split_heads(self.v_proj(value))   # (batch, heads, S, head_dim)
        if self.training and self.dropout > 0.0:
            weights = self._weights(q, k, attn_mask, is_causal)
            heads = F.dropout(weights, self.dropout, True) @ v
        else:
            heads = attend(q, k, v, attn_mask, is_causal)  # a mask and is_causal may combine
        output = self.out_proj(self._merge_heads(heads))
        return output if self.batch_first else output.transpose(0, 1)

    def attention_weights(self, query: Tensor, key: Tensor, attn_mask=None,
                          is_causal: bool = False) -> Tensor:
        """The attention maps softmax(Q K^T / sqrt(d_head) + mask): (batch, heads, L, S).

        Row i of head h says how much query position i takes from each key
        position. A query that may see no key at all gets a row of zeros (and a zero
        output in ``forward``), as in ``F.scaled_dot_product_attention``.
        """
        query, key = self._batch_first(query), self._batch_first(key)
        q = self._split_heads(self.q_proj(query))
        k = self._split_heads(self.k_proj(key))
        return self._weights(q, k, attn_mask, is_causal)

    def _weights(self, q: Tensor, k: Tensor, attn_mask, is_causal: bool) -> Tensor:
        """softmax(q k^T / sqrt(d_head) + mask) for split heads (the attention op's mask)."""
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        return masked_attention_weights(scores, attn_mask, is_causal, F.softmax)

    def _batch_first(self, x: Tensor) -> Tensor:
        if x.ndim != 3:
            layout = "(batch, length, embed_dim)" if self.batch_first else \
                "(length, batch, embed_dim)"
            raise ValueError(f"MultiheadAttention: inputs must be 3-D {layout}, "
                             f"got shape {x.shape}")
        return x if self.batch_first else x.transpose(0, 1)

    def _split_heads(self, x: Tensor) -> Tensor:
        """(batch, length, embed_dim) -> (batch, heads, length, head_dim)."""
        batch, length, _ = x.shape
        return x.reshape(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge_heads(self, x: Tensor) -> Tensor:
        """(batch, heads, length, head_dim) -> (batch, length, embed_dim): heads side by side."""
        batch, _, length, _ = x.shape
        return x.transpose(1, 2).reshape(batch, length, self.embed_dim)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
