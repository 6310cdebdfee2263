"""The terminal all output passes: stored text is printed literally and never acts on it.

Partner data (employer ids, names, reasons, auditors) reaches the screen through a
:class:`LiteralConsole`: rich markup is never interpreted (``[/]``, ``[sic]`` and
``[bold red]`` print as typed), and control characters (C0 but tab and newline, DEL, C1)
and the bidirectional overrides are shown as visible escapes (ESC as ``\\x1b``), so ANSI and
OSC sequences in the data cannot restyle the terminal, move its cursor or make a hyperlink.
Styling is applied by the program with :func:`styled`, never parsed out of a string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

if TYPE_CHECKING:  # tables are for the lists (roll, demo): a one-employer status needs none
    from rich.table import Table

# What must not reach a terminal raw: C0 controls but tab and newline, DEL, the C1 controls
# (U+0080-U+009F, CSI among them), and the bidi embeddings, overrides and isolates (which
# reorder what follows: "Trojan source"), and the line/paragraph separators.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                    "\u2028\u2029\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every character that could act on a terminal written as an escape."""
    return UNSAFE.sub(_escape, text)


def json_safe(text: str) -> str:
    """Serialised JSON with every character that could act on a terminal as a ``\\uXXXX``
    escape (valid JSON, the same value: such characters only occur inside its strings)."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _visible_text(text: Text) -> Text:
    """A copy of ``text`` made visible, its style spans moved to the characters they cover."""
    plain = text.plain
    if not UNSAFE.search(plain):
        return text
    starts = [0]
    pieces = []
    for char in plain:
        piece = visible(char)
        pieces.append(piece)
        starts.append(starts[-1] + len(piece))
    out = text.copy()
    out.plain = "".join(pieces)
    out.spans = [Span(starts[s.start], starts[min(s.end, len(plain))], s.style)
                 for s in text.spans]
    return out


def styled(*parts: str | tuple[str, str] | None) -> Text:
    """One line of output from plain pieces and ``(text, style)`` pairs, taken literally."""
    line = Text()
    for part in parts:
        if part is None:
            continue
        if isinstance(part, tuple):
            line.append(visible(part[0]), style=part[1])
        else:
            line.append(visible(part))
    return line


class LiteralConsole(Console):
    """A rich console that prints strings literally and makes control characters visible.

    Markup, emoji codes and highlighting are off, whatever a caller passes; every string and
    :class:`~rich.text.Text` rendered, at any depth (table cells, panel bodies, titles), is
    made visible before it is laid out, so widths are those of what is shown.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(markup=False, emoji=False, highlight=False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(visible(text), **kwargs)

    def render(self, renderable: RenderableType,
               options: ConsoleOptions | None = None) -> Iterable[Segment]:
        if isinstance(renderable, Text):
            renderable = _visible_text(renderable)
        return super().render(renderable, options)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs.update(markup=False, emoji=False, highlight=False)
        super().print(*objects, **kwargs)



STATUS_STYLE = {"certified": "green", "registered": "yellow", "cancelled": "red",
                "expired": "red", "revoked": "bold red", "unregistered": "dim"}

# Columns that hold a date, a status or another word that must never be cut: they keep their
# full width, and the free text columns (names, flags) wrap instead.
WHOLE_WORD_COLUMNS = ("status", "expires", "next due", "due", "issued", "partner", "level",
                      "next audit", "days")


def roll_table(columns: Iterable[str], title: str | None = None) -> Table:
    """A compact table for lists of employers that reads at 80 columns: dates and statuses
    keep their width, every other column wraps (ids and names fold between characters only
    when a single word is wider than its column)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0),
                  title_justify="left")
    for column in columns:
        if column in WHOLE_WORD_COLUMNS:
            table.add_column(column, no_wrap=True)
        elif column == "employer":  # ids as long as the usual ones (BC-1104729) stay whole
            table.add_column(column, overflow="fold", min_width=10)
        else:
            table.add_column(column, overflow="fold")
    return table
