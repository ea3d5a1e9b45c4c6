"""Comparing models: the same data, steps and seeds for each, reported side by side.

    plan.py         the request and its grid of jobs, checked before anything trains
    workers.py      each job trained and measured in its own process
    report.py       results.json, the terminal tables and report.html
    plots.py        loss curves, score against the sweep, speed and depth, samples
    session.py      ``gradzoo compare`` as one path: plan -> run -> report
"""
