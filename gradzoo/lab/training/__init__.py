"""Training: one loop for every model, and the run directory it writes.

    settings.py     TrainSettings and the learning-rate schedule
    experiment.py   a model built for a task from ``--set`` options (an Experiment)
    loop.py         the Trainer: AdamW, clipping, metrics, checkpoints, Ctrl-C
    runs.py         the run directory's files: config, metrics, checkpoints
    opening.py      a finished (or interrupted) run opened again
    session.py      ``gradzoo train`` as one path: set up -> train -> save
"""
