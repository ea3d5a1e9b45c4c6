"""Every attention map of one forward pass, collected with the engine's module hooks.

While the model runs, each ``nn.MultiheadAttention`` call is seen by a
``hooks.module_called`` wrapper, which asks the same module for its maps,

    A = softmax(Q K^T / sqrt(d_head) + mask)        (batch, heads, L, S)

with the same inputs and mask: nothing in the model changes. A module called
several times (greedy decoding calls the decoder once per new token) keeps its
last, longest call.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradzoo.engine import backend, hooks, nn, no_grad


@dataclass
class AttentionMap:
    """One attention module's maps for one example: ``weights`` (heads, L, S), host float32."""

    name: str          # the module's name in the model, e.g. "blocks.0.attn"
    kind: str          # "self", "causal", "encoder", "decoder" or "cross"
    weights: object
    queries: list      # token names of the L rows (the tokens being computed)
    keys: list         # token names of the S columns (the tokens attended to)


def has_attention(model) -> bool:
    """True when ``model`` holds at least one ``nn.MultiheadAttention``."""
    return any(isinstance(m, nn.MultiheadAttention) for _, m in model.named_modules())


def collect(model, run_forward) -> list[tuple[str, object, bool]]:
    """(name, weights (heads, L, S), causal) of each attention module, in the order first called.

    ``run_forward()`` runs the model on one example (a batch of one).
    """
    names = {id(module): name for name, module in model.named_modules()}
    seen: dict[str, tuple] = {}

    def watch(module, forward, /, *args, **kwargs):
        if isinstance(module, nn.MultiheadAttention):
            query, key = args[0], args[1]
            weights = module.attention_weights(query, key, kwargs.get("attn_mask"),
                                               kwargs.get("is_causal", False))
            maps = backend.to_host(weights.data)[0]
            seen[names.get(id(module), type(module).__name__)] = (
                maps, bool(kwargs.get("is_causal", False)))
        return forward(*args, **kwargs)

    was_training = model.training
    model.eval()
    with no_grad(), hooks.module_called(watch):
        run_forward()
    model.train(was_training)
    return [(name, maps, causal) for name, (maps, causal) in seen.items()]


def label(name: str, causal: bool) -> str:
    """What a module's attention is, from its name: encoder, decoder, cross or (causal) self."""
    if "cross" in name:
        return "cross"
    if "decoder" in name:
        return "decoder"
    if "encoder" in name:
        return "encoder"
    return "causal" if causal else "self"


def attention_maps(collected, streams: dict) -> list[AttentionMap]:
    """The collected maps with token names on both axes (position numbers where none fit)."""
    maps = []
    for name, weights, causal in collected:
        kind = label(name, causal)
        rows = _tokens(streams, kind, "query", weights.shape[1])
        columns = _tokens(streams, kind, "key", weights.shape[2])
        maps.append(AttentionMap(name, kind, weights, rows, columns))
    return maps


def _tokens(streams: dict, kind: str, axis: str, length: int) -> list[str]:
    """The token names of one axis: the decoder's for its rows, the source for the encoder's."""
    preferred = {"encoder": ["source"], "decoder": ["decoder"],
                 "cross": ["decoder"] if axis == "query" else ["source"]}.get(kind, [])
    for stream in [*preferred, "stream", "source", "decoder"]:
        names = streams.get(stream)
        if names is not None and len(names) >= length:
            return names[:length]   # greedy decoding's last call: the answer so far
    return [str(i) for i in range(length)]
