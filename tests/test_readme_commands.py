"""The README's command table and the command line agree: every command the CLI has is in the
table, every command in the table exists, and every option the table shows is one the command
takes."""

from __future__ import annotations

import re
from pathlib import Path

import click

from commands.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `corledger ([^`]*)`")


def _table_rows() -> dict[str, str]:
    """Command path ("projections rebuild") -> the usage text shown in the table."""
    rows: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            words = match.group(1).split()
            path = [w for w in words[:2] if re.fullmatch(r"[a-z][a-z-]*", w)]
            command = _resolve(path)
            rows[" ".join(command)] = line
    return rows


def _subcommands(group: click.Group) -> dict[str, click.Command]:
    """A group's commands, loaded if lazy (``main`` loads its modules on use)."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def _resolve(words: list[str]) -> list[str]:
    """The longest prefix of ``words`` that names a command or a group's command."""
    node: click.Command = main
    path: list[str] = []
    for word in words:
        if isinstance(node, click.Group) and word in _subcommands(node):
            node = _subcommands(node)[word]
            path.append(word)
        else:
            break
    return path or words[:1]


def _cli_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in _subcommands(main).items():
        if isinstance(command, click.Group):
            for sub, subcommand in _subcommands(command).items():
                found[f"{name} {sub}"] = subcommand
        else:
            found[name] = command
    return found


def test_every_command_of_the_cli_is_in_the_readme_table() -> None:
    missing = sorted(set(_cli_commands()) - set(_table_rows()))
    assert not missing, f"commands missing from the README's command table: {missing}"


def test_every_command_in_the_readme_table_exists() -> None:
    unknown = sorted(set(_table_rows()) - set(_cli_commands()))
    assert not unknown, f"the README's command table names commands the CLI lacks: {unknown}"


def test_every_option_shown_in_the_readme_table_is_taken_by_its_command() -> None:
    commands = _cli_commands()
    wrong = []
    for path, line in _table_rows().items():
        if path not in commands:
            continue
        taken = {opt for p in commands[path].params for opt in getattr(p, "opts", [])}
        taken |= {opt for p in commands[path].params for opt in getattr(p, "secondary_opts", [])}
        shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line.split("|")[1]))
        wrong += [f"{path} {opt}" for opt in sorted(shown - taken - {"--db"})]
    assert not wrong, f"options in the README table that the command does not take: {wrong}"
