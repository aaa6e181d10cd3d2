"""The name a mistyped one most likely meant, said one way by every command: ``'openwbe' … (did you mean openweb?)``."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def closest(typed: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The choice ``typed`` looks most like a typo of, each once (difflib's closeness, blind to case: ``provisioned``
    is PROVISIONED); several (``n`` at most) only when they are equally close: ``comment.likd`` is plainly
    comment.liked, though comment.unliked is close too."""
    folded: dict[str, str] = {}
    for name in choices:
        folded.setdefault(name.casefold(), name)
    close = {
        name: _closeness(typed, name)
        for name in difflib.get_close_matches(typed.casefold(), list(folded), n=n, cutoff=cutoff)
    }
    best = max(close.values(), default=0.0)
    return [folded[name] for name, closeness in close.items() if closeness == best]


def _closeness(typed: str, name: str) -> float:
    """How close ``typed`` is to ``name`` (case folded), as :func:`difflib.get_close_matches` ranks it."""
    return difflib.SequenceMatcher(None, name, typed.casefold()).ratio()


def did_you_mean(typed: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """`` (did you mean X?)`` (``X or Y`` for several) to follow what was typed, or nothing when no choice is
    close."""
    return suggestion(closest(typed, choices, n=n, cutoff=cutoff))


def suggestion(close: Iterable[str | None]) -> str:
    """`` (did you mean X?)`` for the names ``close`` holds (``X or Y``; a None, no name found, skipped), or nothing
    when it holds none."""
    names = [name for name in close if name]
    return f" (did you mean {' or '.join(names)}?)" if names else ""
