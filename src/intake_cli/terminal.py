"""Output that shows stored and typed text and lets none of it steer the terminal.

Ids and types are whatever a vendor sent: an escape sequence in one (a window title, a cleared
screen, a clipboard write), a carriage return or a bidirectional override would act on the
operator's terminal or reorder what it shows. Rich output shows such a character as its escape
(``\\x1b``); JSON output as its ``\\u`` escape, the same JSON value.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.segment import Segment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from rich.console import ConsoleOptions, RenderableType

_STEERING = (
    "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u061c\\u200b\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ud800-\\udfff"
    "\\ufeff"
)
STEERING = re.compile(f"[{_STEERING}]")
"""What a terminal acts on instead of showing, or shows as nothing: C0 controls but tab and line feed, DEL, C1
controls (``\\x9b`` is a CSI on some terminals), the marks and overrides that reorder a line, and the invisible
characters (a zero-width space, a word joiner, a byte order mark) that make two ids that differ look the same, and
a lone UTF-16 surrogate (a vendor's ``\\ud800`` escape, echoed in an answer read as JSON), which no terminal shows
and no UTF-8 output can write. The zero-width joiner and non-joiner stay: emoji and several scripts are written
with them."""


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as its escape (``\\x1b``)."""
    return STEERING.sub(_escaped, text)


INLINE_STEERING = re.compile(f"[\\t\\n{_STEERING}]")
"""What :data:`STEERING` holds, and the tab and line feed: what would break a value shown within a line onto
a line of its own (an id's row in a table), or push the rest of its line aside."""


def inline(text: str) -> str:
    """``text`` as :func:`printable` shows it, a tab and a line feed shown as their escapes too (``\\x0a``): a
    value shown within a line (a table's cell, an id in a sentence) keeps to that line."""
    return INLINE_STEERING.sub(_escaped, text)


def takes_utf8(stream: Any) -> bool:
    """Whether ``stream`` writes UTF-8 (a terminal in a Latin-1 locale, ``LANG=en_US.ISO-8859-1``, does not)."""
    return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name == "utf-8"


def legible(stream: Any) -> None:
    """``stream`` showing a character its encoding lacks as its escape (``\\u2026``), as Python's standard
    error does, instead of ending the command with a ``UnicodeEncodeError``."""
    if not takes_utf8(stream) and isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


JSON_ESCAPED = re.compile(f"[{_STEERING}\\u2028\\u2029]")
"""What :func:`json_line` escapes beyond JSON's own: :data:`STEERING`, and the line and paragraph separators,
which end a line for a reader splitting lines as Unicode does (Python's ``str.splitlines``)."""


def json_line(document: Any, default: Callable[[Any], Any] | None = None, *, sort_keys: bool = False) -> str:
    """One line of JSON for standard output: JSON escapes C0 controls itself, this the rest (the same value).

    For a standard output that is not UTF-8, every character past ASCII is escaped: JSON valid in its encoding
    and as UTF-8 alike, holding the same value."""
    ascii_only = not takes_utf8(sys.stdout)
    text = json.dumps(document, default=default or str, ensure_ascii=ascii_only, sort_keys=sort_keys)
    return JSON_ESCAPED.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


class Terminal(Console):
    """A rich console that prints every text through :func:`printable`.

    Rich drops some controls (a carriage return, a bell) from a string as it makes it a ``Text``:
    strings are escaped before that, here, and ``Text`` made elsewhere from stored values is made
    from :func:`printable`'s output; whatever else reaches rendering is escaped in :meth:`render`.
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Rich's print, each string shown through :func:`printable`."""
        super().print(*(printable(item) if isinstance(item, str) else item for item in objects), **kwargs)

    def on_broken_pipe(self) -> None:
        """What reads the output stopped reading: print no more, and let the command end as for any write
        to a closed pipe (``intake`` ends quietly, status 141), not with rich's own exit status 1."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        """Rich's rendering, with any text segment that would steer the terminal escaped."""
        for segment in super().render(renderable, options):
            # Control segments are the console's own (a progress bar moving the cursor).
            if segment.control is None and STEERING.search(segment.text):
                yield Segment(printable(segment.text), segment.style)
            else:
                yield segment
