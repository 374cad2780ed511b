"""One-line hints for the failure texts kie.ai sends most often.

kie.ai passes upstream prose through verbatim ("Your prompt was flagged by
Website as violating content policies."). The text is shown as it came; the
hint below it says what usually helps.
"""

from __future__ import annotations

from veo_tui.domain.records import TaskRecord

_HINTS = (
    (
        ("content polic", "unsafe image", "flagged"),
        "Moderation refused the prompt or image: rephrase it or use another image.",
    ),
    (
        ("only english",),
        "Only English prompts are supported: translate the prompt and retry.",
    ),
    (
        ("failed to fetch the image", "fetch the image", "image download"),
        "kie.ai could not download the input image: make its URL public and "
        "reachable, then retry.",
    ),
    (
        (
            "internal error",
            "timeout",
            "unable to generate",
            "try again later",
            "failed",
        ),
        "The generation failed upstream, not because of your input: "
        "generating again usually works.",
    ),
)


def failure_hint(record: TaskRecord) -> str | None:
    """A hint for a failed task's reason, or ``None`` when none applies."""
    reason = (record.error_message or "").lower()
    for needles, hint in _HINTS:
        if any(needle in reason for needle in needles):
            return hint
    if record.error_code in (500, 501, "500", "501"):
        return _HINTS[-1][1]
    return None
