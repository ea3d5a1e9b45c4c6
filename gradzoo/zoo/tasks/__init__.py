"""The built-in tasks, one file per kind of data, each registering its ``TaskSpec`` through hooks.

``sequence.py`` poses (source, target) token puzzles, ``language.py`` next-character
prediction on text and ``cloze.py`` filling hidden characters in; ``points.py`` (2-D
toy sets) and ``images.py`` (small pictures) hold samples of a distribution on the
base of ``generative.py``, scored by ``sample_scores.py``; ``captions.py`` pairs
pictures with sentences, scored by ``paired_scores.py``. Nothing imports this
package directly: the plugin manager loads each task module by name.
"""
