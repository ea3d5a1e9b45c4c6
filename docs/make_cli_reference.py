"""Rewrite docs/cli.md from gradzoo's click commands: python docs/make_cli_reference.py"""

from pathlib import Path

from gradzoo.cli import BUILTIN_COMMANDS, main
from gradzoo.lab.cli_reference import markdown

TARGET = Path(__file__).resolve().parent / "cli.md"


def builtin_reference() -> str:
    """The reference of the commands gradzoo defines (never a plugin's), in their order."""
    return markdown(main, [name for name in main.commands if name in BUILTIN_COMMANDS])


if __name__ == "__main__":
    TARGET.write_text(builtin_reference(), encoding="utf-8")
    print(f"wrote {TARGET}")
