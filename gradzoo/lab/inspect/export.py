"""The attention maps as JSON in the layout of bertviz's head view, to open in other tools.

bertviz's ``head_view`` hands its page one object: ``attention``, a list of
views, each ``{"name", "attn", "left_text", "right_text"}`` with ``attn`` nested
as layers x heads x query x key and the two texts the query and key tokens; and
``default_filter``, ``layer``, ``heads``, ``include_layers``. A decoder-only or
encoder-only model has one view (name null); the encoder-decoder three,
"Encoder", "Decoder" and "Cross", as bertviz names them. gradzoo adds the
per-head numbers under ``summary`` (a key bertviz does not read).
"""

from __future__ import annotations

import json

from gradzoo.engine.io import write_atomically

VIEW_NAMES = {"encoder": "Encoder", "decoder": "Decoder", "cross": "Cross"}


def bertviz_layout(maps, summary_rows=()) -> dict:
    """The maps grouped into bertviz views: one per kind, its layers in the order run."""
    views: dict[str, dict] = {}
    for attention in maps:
        name = VIEW_NAMES.get(attention.kind)
        view = views.setdefault(name, {"name": name, "attn": [], "left_text": attention.queries,
                                       "right_text": attention.keys})
        view["attn"].append(attention.weights.astype("float32").tolist())
    layers = max((len(v["attn"]) for v in views.values()), default=0)
    return {"attention": list(views.values()), "default_filter": "0", "layer": 0,
            "heads": None, "include_layers": list(range(layers)),
            "summary": list(summary_rows)}


def write_json(path, data: dict) -> None:
    """``data`` as indented JSON at ``path``, written atomically."""
    write_atomically(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
