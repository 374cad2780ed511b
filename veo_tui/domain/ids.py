"""Task ids as users type and paste them: trimming, checking, splitting.

kie.ai's ids are opaque strings, so veo-tui only refuses what can never be an
id: nothing at all, whitespace or control characters inside, or more than
:data:`MAX_TASK_ID_LENGTH` characters. Refusing them early means no request is
spent on a paste accident.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from veo_tui.domain.text import inert

MAX_TASK_ID_LENGTH = 128
# Pasted lists often come as JSON or quoted: brackets and quotes separate too.
_SEPARATORS = re.compile(r"[\s,;\[\]\"']+")
_FORBIDDEN = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


_INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff"


def _escaped(match: re.Match[str]) -> str:
    """A forbidden character as a visible escape, as :func:`inert` writes one."""
    char = match.group()
    if char.isspace() and char.isprintable():
        return char  # a space shows as what it is
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class InvalidTaskId(ValueError):
    """A string that cannot be a task id; ``str()`` says why, safely."""


def check_task_id(raw: str) -> str:
    """Return the trimmed id, or raise :class:`InvalidTaskId` saying why not.

    Trimming takes whitespace and the invisible characters that copying from
    web pages and chat apps leaves at the ends of a word (zero-width spaces
    and joiners, word joiners, byte order marks); inside an id they refuse it.
    """
    task_id = raw.strip().strip(_INVISIBLE_EDGES).strip()
    if not task_id:
        raise InvalidTaskId("a task id cannot be empty")
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise InvalidTaskId(
            f"task id {inert(task_id, limit=40)!s} is {len(task_id)} characters "
            f"long; at most {MAX_TASK_ID_LENGTH} are allowed"
        )
    bad = _FORBIDDEN.search(task_id)
    if bad is not None:
        char = bad.group()
        if char.isspace():
            what = "whitespace"
        elif "\ud800" <= char <= "\udfff":
            what = "bytes that are not UTF-8"
        elif unicodedata.category(char) == "Cf":
            what = "an invisible formatting character"
        else:
            what = "a control character"
        # Named by code point, and shown escaped: the character may be invisible.
        shown = inert(_FORBIDDEN.sub(_escaped, task_id), limit=60)
        raise InvalidTaskId(
            f"task id {shown} contains {what} "
            f"(U+{ord(char):04X} at position {bad.start() + 1})"
        )
    return task_id


@dataclass(frozen=True, slots=True)
class ParsedIds:
    """The outcome of reading ids from free text.

    Attributes:
        valid: Distinct valid ids, in the order first seen.
        invalid: ``(text, reason)`` for each piece refused.
        duplicates: Ids that appeared more than once (each named once).
    """

    valid: tuple[str, ...]
    invalid: tuple[tuple[str, str], ...]
    duplicates: tuple[str, ...]


def id_pieces(text: str) -> list[str]:
    """The pieces of ``text`` between separators (whitespace, commas,
    semicolons, brackets and quotes), unchecked."""
    return [piece for piece in _SEPARATORS.split(text) if piece]


def split_task_ids(text: str) -> ParsedIds:
    """Read ids separated by whitespace, commas, semicolons, brackets or
    quotes (a list pasted as JSON works) from pasted text."""
    seen: dict[str, None] = {}
    duplicates: dict[str, None] = {}
    invalid: list[tuple[str, str]] = []
    for piece in _SEPARATORS.split(text):
        if not piece:
            continue
        try:
            task_id = check_task_id(piece)
        except InvalidTaskId as error:
            invalid.append((piece, str(error)))
            continue
        if task_id in seen:
            duplicates[task_id] = None
        else:
            seen[task_id] = None
    return ParsedIds(tuple(seen), tuple(invalid), tuple(duplicates))
