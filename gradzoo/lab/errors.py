"""The lab's errors: a request that cannot be carried out as given, in the user's terms.

Every error the lab expects (an unknown model, task or option, a bad run
directory, a formula that is not allowed) is a ``UsageError`` whose message is
the one line the CLI prints before it exits with 2. A ValueError that a task or
a model raises for input it cannot take (a character the text never had, a
width the heads do not divide) is turned into a UsageError where the lab calls it.
A run that stops early is not a usage error: see ``TrainingStopped``.
"""


class UsageError(Exception):
    """The request cannot be carried out as given; the message says why (the CLI exits with 2)."""


class RunError(UsageError):
    """A run directory that is missing, foreign or damaged; the message says which file and why."""
