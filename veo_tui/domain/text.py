"""Make remote and pasted text inert before it reaches a terminal.

Prompts, error messages, URLs and task ids come from kie.ai or from whatever
the user pasted. They may carry escape sequences (an OSC 52 sequence would
write the user's clipboard), other control characters or bidirectional
overrides. :func:`inert` turns each of those into a visible escape such as
``\\x1b`` so the text reads as what it is and cannot act on the terminal.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\ufeff]")
_UNSAFE_KEEP_NEWLINES = re.compile(
    f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """Return ``text`` with every control, bidi or surrogate character escaped.

    Args:
        text: Any string, possibly hostile.
        keep_newlines: Leave ``\\n`` alone, for multi-line panels.
        limit: Cut the result to at most this many characters, ending in an
            ellipsis, so a 100 KB string cannot flood a line.
    """
    if limit is not None and len(text) > limit * 4:
        # Escaping can only lengthen text, so anything past this point is cut
        # anyway; not scanning it keeps huge strings cheap.
        text = text[: limit * 4]
    pattern = _UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE
    safe = pattern.sub(_escape, text)
    if limit is not None and len(safe) > limit:
        safe = safe[: max(limit - 1, 0)] + "…"
    return safe


def human_duration(seconds: float | None) -> str:
    """``95`` -> ``1m 35s``; ``None`` -> ``-``. Whole seconds, two units at most."""
    if seconds is None or seconds < 0:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
