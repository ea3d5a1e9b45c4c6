"""Run the commands a docs page shows, in order, the way a reader would type them.

A page is read top to bottom:

* a ```python block whose first line is ``# some/file.py`` (not a ``gradzoo/``
  path, which quotes the project's own code) is written to that file: the page
  said "save this as ...";
* every line of a ```sh block is a command. ``gradzoo ...`` runs (as
  ``python -m gradzoo``), ``pip install -e DIR`` installs (offline: no deps, no
  build isolation), ``pytest ...`` runs the tests; anything else (``python -m
  build``, ``twine``...) is shown to the reader but not run here. ``VAR=value``
  before a command sets its environment; ``cd DIR && ...`` works within a line.

Everything runs in a temporary directory, in a throw-away environment layered on
this one (tests/plugin_env.py). So that the check stays fast, ``train`` and
``compare`` run at most ``MAX_STEPS`` steps with one seed, and on the CPU.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.plugin_env import PluginEnvironment

MAX_STEPS = 20
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
FILE_COMMENT = re.compile(r"^# ([\w./-]+\.py)\s*$")


@dataclass
class Command:
    """One command line of a page: as written, and the words that will run."""

    line: str
    environ: dict
    words: list


def page_steps(text: str):
    """('file', path, source) and ('command', Command) in the order the page shows them."""
    for match in BLOCK.finditer(text):
        language, body = match.group(1), match.group(2)
        first = body.splitlines()[0] if body.strip() else ""
        file = FILE_COMMENT.match(first)
        if language == "python" and file and not file.group(1).startswith("gradzoo/"):
            yield "file", file.group(1), body
        elif language == "sh":
            for line in _joined_lines(body):
                command = parse(line)
                if command is not None:
                    yield "command", command


def _joined_lines(body: str):
    """The block's lines, with backslash continuations joined and a leading '$ ' dropped."""
    pending = ""
    for raw in body.splitlines():
        line = pending + raw.strip().removeprefix("$ ")
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line:
            yield line


def parse(line: str) -> Command | None:
    words = shlex.split(line, comments=True)
    environ = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        environ[key] = value
    return Command(line, environ, words) if words else None


def limited(words: list) -> list:
    """``gradzoo train/compare`` with at most MAX_STEPS steps and one seed; the CPU for a GPU."""
    words = ["cpu" if w == "gpu" and i and words[i - 1] == "--device" else w
             for i, w in enumerate(words)]
    if "train" not in words and "compare" not in words:
        return words
    words = _capped(words, "--steps", MAX_STEPS, add=True)
    return _capped(words, "--seeds", 1, add=False)


def _capped(words: list, flag: str, most: int, add: bool) -> list:
    words = list(words)
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            words[i + 1] = str(min(int(words[i + 1]), most))
            return words
        if word.startswith(flag + "="):
            words[i] = f"{flag}={min(int(word.partition('=')[2]), most)}"
            return words
    return words + [flag, str(most)] if add else words


class PageRunner:
    """Runs a page's steps in ``directory`` with a layered environment; records what ran."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.environment = PluginEnvironment(self.directory / ".env")
        self.ran: list[str] = []
        self.shown_only: list[str] = []

    def run_page(self, text: str) -> None:
        for step in page_steps(text):
            if step[0] == "file":
                path = self.directory / step[1]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(step[2], encoding="utf-8")
            else:
                self.run_command(step[1])

    def run_command(self, command: Command) -> None:
        cwd = self.directory
        for part in _split_and(command.words):
            if part[0] == "cd":
                cwd = cwd / part[1]
                continue
            done = self._run(part, command.environ, cwd)
            if done is None:
                self.shown_only.append(command.line)
                continue
            self.ran.append(command.line)
            if done.returncode != 0:
                raise AssertionError(
                    f"the docs show `{command.line}`; it exited with {done.returncode} "
                    f"(run as: {' '.join(part)})\n--- stdout\n{done.stdout[-2500:]}\n"
                    f"--- stderr\n{done.stderr[-2500:]}")

    def _run(self, words: list, environ: dict, cwd: Path):
        env = self.environment
        extra = {k: ("cpu" if k == "GRADZOO_DEVICE" else v) for k, v in environ.items()}
        if words[0] == "gradzoo":
            return env.run_python("-m", "gradzoo", *limited(words)[1:], cwd=cwd, environ=extra)
        if words[0] == "pytest":
            return env.run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", *words[1:],
                                  cwd=cwd, environ=extra)
        if words[:2] == ["pip", "install"] and "-e" in words:
            target = words[words.index("-e") + 1]
            return env.run_python("-m", "pip", "install", "--quiet", "--no-deps",
                                  "--no-build-isolation", "--disable-pip-version-check", "-e",
                                  target, cwd=cwd, environ=extra)
        return None


def _split_and(words: list) -> list[list]:
    parts, current = [], []
    for word in words:
        if word == "&&":
            parts.append(current)
            current = []
        else:
            current.append(word)
    return [part for part in parts + [current] if part]
