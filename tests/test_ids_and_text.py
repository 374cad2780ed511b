"""Task ids as typed or pasted, and text made inert for the terminal."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from veo_tui.domain import (
    InvalidTaskId,
    check_task_id,
    human_duration,
    inert,
    split_task_ids,
)


def test_ids_are_trimmed() -> None:
    assert check_task_id("  veo_task_abc \n") == "veo_task_abc"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc def", "whitespace"),
        ("abc\tdef", "whitespace"),
        ("abc\x1b[31mdef", "control character"),
        ("abc\u202edef", "invisible formatting character"),
        ("x" * 129, "129 characters"),
    ],
)
def test_impossible_ids_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidTaskId, match=reason):
        check_task_id(raw)


def test_an_id_of_128_characters_is_accepted() -> None:
    assert check_task_id("x" * 128) == "x" * 128


def test_refusal_message_shows_control_characters_inertly() -> None:
    with pytest.raises(InvalidTaskId) as caught:
        check_task_id("ab\x1b]52;c;aGk=\x07cd")

    assert "\x1b" not in str(caught.value)
    assert "\\x1b" in str(caught.value)


def test_pasted_ids_split_on_spaces_commas_and_newlines() -> None:
    parsed = split_task_ids("a1, b2\nc3  d4,,e5\r\n")

    assert parsed.valid == ("a1", "b2", "c3", "d4", "e5")
    assert parsed.invalid == ()


def test_a_pasted_json_list_yields_its_ids() -> None:
    assert split_task_ids('["ccc111", "ddd222"]').valid == ("ccc111", "ddd222")


def test_invisible_characters_are_named_by_code_point() -> None:
    with pytest.raises(InvalidTaskId, match="U\\+200B at position 2"):
        check_task_id("a\u200bb")


@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
)
def test_invisible_characters_at_the_ends_of_a_pasted_id_are_trimmed(
    invisible: str,
) -> None:
    assert check_task_id(f"{invisible}veo_task_abc{invisible} ") == "veo_task_abc"


def test_an_invisible_character_inside_an_id_is_shown_escaped() -> None:
    with pytest.raises(InvalidTaskId) as caught:
        check_task_id("ab\u200bcd")

    message = str(caught.value)
    assert "ab\\u200bcd" in message
    assert "\u200b" not in message
    assert "invisible formatting character" in message


def test_pasted_duplicates_are_named_once_and_kept_once() -> None:
    parsed = split_task_ids("a1 a1 b2 a1")

    assert parsed.valid == ("a1", "b2")
    assert parsed.duplicates == ("a1",)


def test_pasted_invalid_pieces_are_named() -> None:
    parsed = split_task_ids("good " + "y" * 200 + " bad\x00id")

    assert parsed.valid == ("good",)
    assert len(parsed.invalid) == 2


@given(st.text())
def test_any_pasted_text_yields_only_valid_ids(text: str) -> None:
    parsed = split_task_ids(text)

    for task_id in parsed.valid:
        assert check_task_id(task_id) == task_id
    assert len(set(parsed.valid)) == len(parsed.valid)


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),
        ("a\x9bb", "a\\x9bb"),
        ("\u202eevil", "\\u202eevil"),
        ("line1\nline2", "line1\\x0aline2"),
    ],
)
def test_inert_escapes_controls_visibly(hostile: str, shown: str) -> None:
    assert inert(hostile) == shown


def test_inert_can_keep_newlines_for_panels() -> None:
    assert inert("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"


def test_inert_limits_huge_strings() -> None:
    shown = inert("x" * 100_000, limit=50)

    assert len(shown) == 50
    assert shown.endswith("…")


@given(st.text())
def test_inert_output_has_no_control_bidi_or_surrogate_character(text: str) -> None:
    shown = inert(text)

    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in shown)
    assert not set(shown) & set(
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "0s"),
        (59.9, "59s"),
        (95, "1m 35s"),
        (3_700, "1h 1m"),
        (90_000, "1d 1h"),
    ],
)
def test_human_duration(seconds: float | None, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_ids_with_bytes_that_are_not_utf8_are_refused() -> None:
    raw = b"\xff\xfe".decode("utf-8", errors="surrogateescape")  # as argv gives it

    with pytest.raises(InvalidTaskId, match="not UTF-8"):
        check_task_id(raw)
