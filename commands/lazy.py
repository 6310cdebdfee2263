"""A click group whose subcommands are imported when they are used, not when it starts.

Click's "lazily loading subcommands" pattern: the group holds, per command name, the module
and attribute that define it and the one line ``--help`` lists for it, so listing the
commands imports nothing, and running one imports its module alone. The one-line helps are
kept beside the names (a test holds each equal to the command's own short help).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from gettext import gettext as _
from typing import Any

import click


@dataclass(frozen=True)
class Lazy:
    """Where a command is defined, and the one line ``--help`` lists for it."""

    module: str
    attribute: str
    help: str


class LazyGroup(click.Group):
    """A group that imports a subcommand's module on first use.

    ``lazy`` maps command names to :class:`Lazy` entries; ``prepare`` is applied to every
    command as it joins the group (eager or lazy alike), e.g. to add a shared option. An
    entry whose module is not installed is left out, as if it were not there.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None,
                 prepare: Callable[[click.Command], click.Command] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})
        self.prepare = prepare

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(self.prepare(cmd) if self.prepare else cmd, name)

    def _available(self) -> list[str]:
        return [name for name, entry in self.lazy.items()
                if name not in self.commands and _installed(entry.module)]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._available()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        entry = self.lazy.get(cmd_name)
        if entry is None or not _installed(entry.module):
            return None
        command = getattr(importlib.import_module(entry.module), entry.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
        self.add_command(command, cmd_name)
        return self.commands[cmd_name]

    def resolve_command(self, ctx: click.Context, args: list[str],
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # suggest among every command
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, as click writes it, from the lazy entries' one-line helps for
        the commands not loaded yet (so ``--help`` imports none of them)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                command = click.Command(name, help=self.lazy[name].help)
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section(_("Commands")):  # click's own heading
                formatter.write_dl([(name, command.get_short_help_str(limit))
                                    for name, command in rows])


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is missing
        return False
