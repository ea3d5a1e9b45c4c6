"""A throw-away Python environment layered on this one, to pip-install plugin packages into.

Installing a plugin into the project's own environment would show it to every
other test (and to anyone running gradzoo meanwhile). Instead a fresh venv is
made whose ``.pth`` file adds this environment's site-packages: it sees gradzoo,
pip, setuptools and pytest, and what ``pip install`` puts in it stays in it.
Installs are editable, without build isolation and without dependencies, so
they work offline, in a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class PluginEnvironment:
    """A venv at ``path`` that sees this environment's packages; run gradzoo and pip in it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(self.path)
        self.python = self.path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        own_site = self.run_python("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                                   ).stdout.strip()
        shared_site = sysconfig.get_paths()["purelib"]
        Path(own_site, "gradzoo_shared_env.pth").write_text(
            f"import site; site.addsitedir({shared_site!r})\n", encoding="utf-8")

    def run_python(self, *args, cwd=None, timeout=300, environ=None
                   ) -> subprocess.CompletedProcess:
        """``python ARGS`` in this environment (on the CPU, with no GRADZOO_* variable of
        the caller's but ``environ``); the result keeps stdout and stderr as text."""
        environ = {**{k: v for k, v in os.environ.items()
                      if not k.startswith(("GRADZOO_", "PYTHON"))},
                   "GRADZOO_DEVICE": "cpu", "MPLBACKEND": "Agg", **(environ or {})}
        return subprocess.run([str(self.python), *args], cwd=cwd, env=environ, text=True,
                              capture_output=True, timeout=timeout)

    def install(self, package_dir: Path) -> None:
        """``pip install --no-deps --no-build-isolation -e DIR`` (fast, offline)."""
        done = self.run_python("-m", "pip", "install", "--quiet", "--no-deps",
                               "--no-build-isolation", "--no-input", "--disable-pip-version-check",
                               "-e", str(package_dir))
        assert done.returncode == 0, f"pip install -e {package_dir} failed:\n{done.stderr}"

    def gradzoo(self, *args, cwd=None) -> subprocess.CompletedProcess:
        """``gradzoo ARGS`` (as ``python -m gradzoo``) in this environment."""
        return self.run_python("-m", "gradzoo", *args, cwd=cwd)


def expect_success(done: subprocess.CompletedProcess, what: str) -> str:
    """The output of a finished command, or a failure that shows what it printed."""
    assert done.returncode == 0, (f"{what} exited with {done.returncode}\n--- stdout\n"
                                  f"{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    return done.stdout
