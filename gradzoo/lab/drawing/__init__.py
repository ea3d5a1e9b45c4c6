"""Drawing computation graphs: ``gradzoo graph`` for a model's loss or a formula.

    graphs.py       what to draw, then DOT source, pictures and backward walks on disk
    expressions.py  a small formula language (``tanh(w*x + b)``) evaluated on the engine
"""
