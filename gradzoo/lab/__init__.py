"""The lab: training, comparing, pictures and graph drawing, on top of the engine and plugins.

    training/    the loop, the run directory, ``gradzoo train``
    compare/     ``gradzoo compare``: plan, workers, report, plots
    pictures/    figures of samples and pairs (one figure helper, one atomic save)
    drawing/     ``gradzoo graph``: a model's loss or a formula, drawn with Graphviz
    sampling.py  what ``gradzoo sample`` shows
    catalog.py, tables.py   what ``list``, ``info`` and ``plugins`` print
    demo.py      the first lesson, a small MLP on two moons
    errors.py    UsageError, the one error family the CLI catches
"""
