"""The built-in models, one file per family, each registering its ``ModelSpec`` through the hooks.

Decoder-only language models (rnn, lstm, gru, gpt) share ``decoding.py`` (loss,
greedy prediction, sampling); the three recurrent ones are one ``RecurrentLM``
in ``recurrent.py`` with different cells. The transformer, gpt, bert and clip's
text tower share the position-wise ``FeedForward`` of ``blocks.py``; the
generative models (vae, diffusion, gan, flow) and clip's image tower are built
from the plain ``MLP`` of ``generative_parts.py``. Nothing imports this package
directly: the plugin manager loads each model module by name.
"""
