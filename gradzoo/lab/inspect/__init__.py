"""``gradzoo inspect``: look inside a trained model, one held-out example at a time.

    examples.py    the example to look at: a held-out one, or the user's own tokens
    attention.py   every attention map of one forward pass, per layer x head
    summary.py     one line per head: distance, entropy, previous / first / same token
    recurrent.py   hidden states and gates over time, and d(loss)/d(h_t) per step
    pictures.py    heat-map grids (PNG and SVG)
    export.py      the maps as JSON in bertviz's layout
    session.py     what the command runs: collect, draw, write, summarise
"""
