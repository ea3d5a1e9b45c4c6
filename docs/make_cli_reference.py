"""docs/cli.md, written from the click commands themselves, so the reference cannot drift.

    python docs/make_cli_reference.py        # rewrites docs/cli.md

Every command of the group, in its order, with its usage line, its whole help
text, its arguments and a table of its options (type, default, help). Only the
commands gradzoo itself defines are listed: a plugin's commands are not.
"""

from __future__ import annotations

from pathlib import Path

import click

from gradzoo.cli import BUILTIN_COMMANDS, main

TARGET = Path(__file__).resolve().parent / "cli.md"

HEADER = """\
# Command-line reference

Every `gradzoo` command with its options. This page is generated from the
commands themselves (`python docs/make_cli_reference.py`); a test fails when
it is out of date. `gradzoo COMMAND --help` prints the same in a terminal.
"""


def markdown(group: click.Group, commands=None, prog: str = "gradzoo") -> str:
    """The reference of ``group`` (and of ``commands``, its command names, if given) as Markdown."""
    root = click.Context(group, info_name=prog)
    names = list(commands) if commands is not None else list(group.commands)
    shown = [name for name in names if not group.commands[name].hidden]
    parts = [HEADER, _contents(group, shown), _section(root, group, prog, level=2)]
    parts += [_section(click.Context(group.commands[name], info_name=name, parent=root),
                       group.commands[name], f"{prog} {name}", level=2) for name in shown]
    return "\n".join(parts).rstrip() + "\n"


def _contents(group: click.Group, names) -> str:
    lines = ["| command | what it does |", "|---|---|"]
    for name in names:
        anchor = f"gradzoo-{name}".replace(" ", "-")
        lines.append(f"| [`{name}`](#{anchor}) | {group.commands[name].get_short_help_str(200)} |")
    return "\n".join(lines) + "\n"


def _section(ctx: click.Context, command: click.Command, title: str, level: int) -> str:
    lines = [f"{'#' * level} {title}", "", "```text", _usage(ctx, command), "```", ""]
    lines += [_help_text(command), ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines += ["Arguments: " + ", ".join(f"`{a.human_readable_name}`"
                                            + ("" if a.required else " (optional)")
                                            for a in arguments), ""]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if options:
        lines += ["| option | value | default | what it does |", "|---|---|---|---|"]
        lines += [_option_row(ctx, option) for option in options]
        lines.append("")
    return "\n".join(lines)


def _usage(ctx: click.Context, command: click.Command) -> str:
    pieces = " ".join(command.collect_usage_pieces(ctx))
    return f"Usage: {ctx.command_path} {pieces}".rstrip()


def _help_text(command: click.Command) -> str:
    """The help's paragraphs, each on one line; a paragraph marked ``\\b`` keeps its lines."""
    paragraphs = [p.strip() for p in (command.help or "").strip().split("\n\n") if p.strip()]
    return "\n\n".join(_paragraph(p) for p in paragraphs)


def _paragraph(text: str) -> str:
    if text.startswith("\b"):  # click's marker for "do not rewrap"
        return "\n".join(line.rstrip() + "  " for line in text.splitlines()[1:]).rstrip()
    return " ".join(line.strip() for line in text.splitlines())


def _option_row(ctx: click.Context, option: click.Option) -> str:
    flags = ", ".join(f"`{flag}`" for flag in option.opts + option.secondary_opts)
    cells = [flags, _value(option), _default(ctx, option), _escape(option.help or "")]
    if option.envvar:
        cells[3] += f" (environment: `{option.envvar}`)"
    return "| " + " | ".join(cells) + " |"


def _value(option: click.Option) -> str:
    """What the option takes, in words: 'flag', 'integer, 1 to 100', 'one of: a, b'."""
    if option.is_flag:
        return "flag"
    kind = option.type
    if option.metavar:
        text = f"`{option.metavar}`"
    elif isinstance(kind, click.Choice):
        text = "one of: " + ", ".join(str(c) for c in kind.choices)
    elif isinstance(kind, (click.IntRange, click.FloatRange)):
        text = _range(kind)
    else:
        text = {"integer": "integer", "float": "number", "text": "text",
                "path": "path", "boolean": "true or false"}.get(kind.name, kind.name)
    return text + (", repeatable" if option.multiple else "")


def _range(kind) -> str:
    """'integer from 1 to 100', 'number > 0', 'integer >= 1'."""
    word = "integer" if isinstance(kind, click.IntRange) else "number"
    if kind.min is not None and kind.max is not None and not (kind.min_open or kind.max_open):
        return f"{word} from {kind.min} to {kind.max}"
    low = None if kind.min is None else ("> " if kind.min_open else ">= ") + str(kind.min)
    high = None if kind.max is None else ("< " if kind.max_open else "<= ") + str(kind.max)
    return f"{word} " + " and ".join(part for part in (low, high) if part)


def _default(ctx: click.Context, option: click.Option) -> str:
    """The default as the user would type it; empty when there is none to show."""
    if option.required:
        return "required"
    default = option.get_default(ctx, call=False)
    if option.is_flag or default is None or isinstance(default, (tuple, list)) and not default:
        return ""
    if type(default).__name__ == "Sentinel" or callable(default):  # click's UNSET, a factory
        return ""
    return f"`{default}`"


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def builtin_reference() -> str:
    """The reference of the commands gradzoo defines (never a plugin's), in their order."""
    return markdown(main, [name for name in main.commands if name in BUILTIN_COMMANDS])


if __name__ == "__main__":
    TARGET.write_text(builtin_reference(), encoding="utf-8")
    print(f"wrote {TARGET}")
