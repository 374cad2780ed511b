"""The watchlist on disk: which tasks to watch, and what was last known of each.

One TOML file, ``$XDG_DATA_HOME/veo-tui/watchlist.toml``, shared by every
dashboard and every headless command the user runs. Each change is a read,
modify, write done under a cross-process file lock, and each write is atomic
(a temporary file in the same folder, fsync, rename, fsync of the folder), so
two terminals adding ids at once lose none, and a process killed mid-save
leaves the old file or the new one, whole. A file edited by hand is read as
far as it can be (a missing version or count line, an entry or a line that
cannot be read): the tasks it holds are kept, and the file as it was is copied
to ``watchlist.toml.kept-<hash>``. A file that is no watchlist at all (not
UTF-8, or not TOML and no task readable in it) is moved aside with a timestamp
and reported, never overwritten; one written by a newer veo-tui is refused
and left alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import platformdirs

from veo_tui.domain import FetchError, FetchErrorKind, FetchResult, State, TaskRecord
from veo_tui.store.config import NotAFileError, read_regular_file, size_text

if TYPE_CHECKING:
    import filelock

log = logging.getLogger(__name__)

APP_NAME = "veo-tui"
FORMAT_VERSION = 1
"""The version of the file's layout; a newer one is refused, not overwritten."""

LOCK_TIMEOUT = 10.0
"""Seconds to wait for another veo-tui to finish its change of the file."""

SIZE_LIMIT = 256 << 20
"""The largest watchlist read (256 MB; 10,000 tasks with records take ~5 MB),
so that a wrong file such as a link to ``/dev/zero`` is refused, not read."""

_HEADER = (
    "# The veo-tui watchlist. Written by veo-tui; change it with\n"
    "# `veo-tui add` and `veo-tui rm` rather than by hand."
)
_TEMP_PREFIX = ".watchlist-"
_TEMP_SUFFIX = ".tmp"


class WatchlistError(Exception):
    """The watchlist cannot be read or written; ``str()`` says where and why."""


class _Corrupt(Exception):
    """The file is not a watchlist this version can read (moved aside)."""


def default_watchlist_path() -> Path:
    """Where the watchlist lives: the user's data folder for veo-tui."""
    return (
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "watchlist.toml"
    )


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One watched task and what was last known of it.

    Attributes:
        task_id: The task's id.
        added_at: When the user added it (aware, UTC).
        record: The last record fetched, if any was.
        checked_at: When the task was last checked (aware, UTC), whatever came.
        fetch_error: Why the last check yielded no record; while set, ``record``
            is stale.
    """

    task_id: str
    added_at: datetime
    record: TaskRecord | None = None
    checked_at: datetime | None = None
    fetch_error: FetchError | None = None

    def with_result(self, result: FetchResult, checked_at: datetime) -> WatchEntry:
        """This entry after one check: a new record, or an error over the old one.

        A fetch error keeps the last-known record (shown as stale) rather than
        forgetting it.
        """
        if isinstance(result, FetchError):
            return replace(self, checked_at=checked_at, fetch_error=result)
        return replace(self, record=result, checked_at=checked_at, fetch_error=None)

    def is_pending(self, now: datetime, grace: timedelta) -> bool:
        """Whether the last answer was "record is null." within ``grace`` of
        the adding: kie.ai may not show a new task yet (shown as pending)."""
        record = self.record
        return (
            record is not None
            and record.state is State.NOT_FOUND
            and now - self.added_at < grace
        )


class WatchlistStore:
    """The watchlist file, read and changed safely across processes.

    Every mutating method reads the file, changes it and writes it back while
    holding ``<path>.lock``, so concurrent dashboards and commands interleave
    whole changes, never half ones.

    Args:
        path: The watchlist file; its folder is created when first written.
        lock_timeout: Seconds to wait for the lock before giving up.

    Attributes:
        warnings: Sentences for the user about what was found on disk (a
            corrupt file moved aside, a record dropped). The caller shows and
            may clear them.
    """

    def __init__(self, path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._lock_timeout = lock_timeout
        self._lock = FileGuard(self.path, self._lock_timeout)
        # The entries as of our last read or write, with the file's identity
        # then: if the file still has it, nobody changed it and parsing again
        # can be skipped.
        self._cache: tuple[tuple[int, int, int, int], list[WatchEntry]] | None = None
        self._blocks: _Blocks = {}
        # Set when a change read in passing (by add, remove, update) came
        # from another process; changed() then says so until load().
        self._foreign_change = False

    def load(self) -> list[WatchEntry]:
        """The entries in the order they were added; ``[]`` when there is no file.

        Raises:
            WatchlistError: The file exists but cannot be read (permissions,
                not a regular file, over :data:`SIZE_LIMIT`), or was written by
                a newer veo-tui.
        """
        try:
            return list(self._read())
        except _Corrupt:
            with self._locked():
                return list(self._read_or_move_aside())
        finally:
            self._foreign_change = False  # the caller has it all now

    def changed(self) -> bool:
        """Whether the file differs from what this store last read or wrote.

        Cheap (one ``stat``): lets a dashboard notice ids added or removed by
        ``veo-tui add`` / ``rm`` or another dashboard, including changes this
        store read in passing while saving its own (until :meth:`load`).
        """
        try:
            identity = self._identity()
        except WatchlistError:
            return False
        known = self._cache[0] if self._cache is not None else None
        return self._foreign_change or identity != known

    def add(self, task_ids: Sequence[str], now: datetime) -> list[str]:
        """Append the ids not yet watched; return those actually added, in order.

        Args:
            task_ids: Checked task ids; repeats and present ids are skipped.
            now: The time to record as ``added_at`` (each next id gets one
                microsecond more).
        """
        added: list[str] = []
        with self._locked():
            entries = self._read_or_move_aside()
            present = {entry.task_id for entry in entries}
            for task_id in task_ids:
                if task_id not in present:
                    present.add(task_id)
                    # A microsecond apart, so that added_at alone tells the
                    # order ids were added in (restore() relies on it).
                    moment = _utc(now) + timedelta(microseconds=len(added))
                    added.append(task_id)
                    entries.append(WatchEntry(task_id, moment))
            if added:
                self._write(entries)
        return added

    def remove(self, task_ids: Sequence[str]) -> list[WatchEntry]:
        """Stop watching these ids; return the removed entries (for an undo)."""
        wanted = set(task_ids)
        with self._locked():
            entries = self._read_or_move_aside()
            kept = [entry for entry in entries if entry.task_id not in wanted]
            removed = [entry for entry in entries if entry.task_id in wanted]
            if removed:
                self._write(kept)
        return removed

    def restore(self, entries: Sequence[WatchEntry]) -> None:
        """Put removed entries back where they were (an undo of :meth:`remove`).

        Each goes back before the first entry added after it, which is its old
        place, since entries are kept in the order they were added. Ids that
        were added again meanwhile keep their new entry.
        """
        with self._locked():
            current = self._read_or_move_aside()
            present = {entry.task_id for entry in current}
            returning = [entry for entry in entries if entry.task_id not in present]
            if not returning:
                return
            merged = list(current)
            for entry in sorted(returning, key=lambda e: e.added_at):
                index = len(merged)
                for position, other in enumerate(merged):
                    if other.added_at > entry.added_at:
                        index = position
                        break
                merged.insert(index, entry)
            self._write(merged)

    def update(self, results: Sequence[WatchEntry]) -> None:
        """Store the last-known record, check time and error of watched ids.

        For each given entry whose id is still watched, its ``record``,
        ``checked_at`` and ``fetch_error`` replace the stored ones; its
        ``added_at`` and its place are kept. Ids removed meanwhile (perhaps by
        another process) are ignored, so an update never brings them back.
        Build the entries with :meth:`WatchEntry.with_result`.
        """
        if not results:
            return
        latest = {entry.task_id: entry for entry in results}
        with self._locked():
            entries = self._read_or_move_aside()
            changed = False
            for index, entry in enumerate(entries):
                new = latest.get(entry.task_id)
                if new is None:
                    continue
                updated = replace(
                    entry,
                    record=new.record,
                    checked_at=new.checked_at,
                    fetch_error=new.fetch_error,
                )
                if not _same_entry(updated, entry):
                    entries[index] = updated
                    changed = True
            if changed:
                self._write(entries)

    # Reading.

    def _identity(self) -> tuple[int, int, int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise WatchlistError(
                f"Cannot read {self.path}: {error.strerror or error}"
            ) from None
        return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def _read(self) -> list[WatchEntry]:
        """The entries on disk (a fresh list), or raise :class:`_Corrupt`."""
        identity = self._identity()
        if identity is None:
            self._cache = None
            return []
        if self._cache is not None:
            if self._cache[0] == identity:
                return list(self._cache[1])
            self._foreign_change = True  # not as we left it: someone else wrote
        try:
            raw = read_regular_file(self.path, SIZE_LIMIT)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise WatchlistError(
                f"Cannot read {self.path}: {error.strerror or error}"
            ) from None
        except NotAFileError as error:
            raise WatchlistError(
                f"Cannot read {self.path}: {error} (a watchlist must be a "
                f"regular file of at most {size_text(SIZE_LIMIT)}); "
                "move it away and veo-tui starts a new one"
            ) from None
        entries = self._decode(raw)
        self._cache = (identity, entries)
        return list(entries)

    def _read_or_move_aside(self) -> list[WatchEntry]:
        """Like :meth:`_read`, but a corrupt file is moved aside and ``[]`` read.

        Must be called with the lock held, so that no other process is writing
        a good file in the place of the corrupt one while it is moved.
        """
        try:
            return self._read()
        except _Corrupt as problem:
            aside = self._move_aside()
            message = (
                f"The watchlist {self.path} could not be read ({problem}); "
                f"it was moved to {aside.name} and a new one started."
            )
            log.warning("%s", message)
            self.warnings.append(message)
            self._cache = None
            return []

    def _move_aside(self) -> Path:
        try:
            return set_aside(self.path)
        except OSError as error:
            raise WatchlistError(
                f"Cannot move the unreadable watchlist {self.path} aside: "
                f"{error.strerror or error}"
            ) from None

    def _decode(self, raw: bytes) -> list[WatchEntry]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Corrupt(f"not UTF-8 text at byte {error.start + 1}") from None
        text = text.removeprefix("\ufeff")  # a BOM, from an editor on Windows
        if not text.strip():
            return []  # an empty file (`: > watchlist.toml`): nothing to keep
        # What is wrong with a file edited by hand (or cut short): the tasks
        # that can be read are kept, and the file as it was is copied aside.
        problems: list[str] = []
        document = _read_own_form(text)
        if document is None:  # not as veo-tui writes it: let tomllib judge
            import tomllib  # rarely needed: not worth its import at every start

            try:
                document = tomllib.loads(text)
            except tomllib.TOMLDecodeError as error:
                salvaged = _salvage(text)
                if salvaged is None:
                    raise _Corrupt(f"not valid TOML: {error}") from None
                document, skipped = salvaged
                problems.append(
                    f"is not valid TOML ({error}; {skipped} part(s) that could "
                    "not be read were skipped)"
                )

        version = document.get("version")
        if _is_int(version) and version > FORMAT_VERSION:
            raise WatchlistError(
                f"Cannot read {self.path}: it was written by a newer veo-tui "
                f"(format {version}; this one reads format {FORMAT_VERSION})"
            )
        if not _is_int(version) or version < 1:
            # Written by hand: read as this version's layout, what it most
            # likely is (no veo-tui ever wrote a file without a version).
            problems.append("has no valid 'version' line")
        tasks = document.get("tasks", [])
        count = document.get("count")
        if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
            raise _Corrupt("'tasks' is not a list of tables")
        # Every write states how many entries follow: fewer means the file was
        # cut short, or edited by hand.
        if not _is_int(count):
            problems.append("has no valid 'count' line")
        elif count != len(tasks):
            problems.append(f"says it holds {count} task(s) but holds {len(tasks)}")
        problem = " and ".join(problems) if problems else None

        entries: list[WatchEntry] = []
        seen: set[str] = set()
        dropped = False
        for number, table in enumerate(tasks, start=1):
            entry = self._entry(number, table)
            if entry is None:
                dropped = True
            elif entry.task_id in seen:
                dropped = True
                self._warn(
                    f"task {entry.task_id!r} is in {self.path} twice; "
                    "the first one was kept"
                )
            else:
                seen.add(entry.task_id)
                entries.append(entry)
        if problem is not None or dropped:
            # The next write would lose what could not be read: keep the file.
            copy = self._keep_copy(raw)
            if problem is not None:
                self._warn(
                    f"The watchlist {self.path} {problem}; the {len(entries)} "
                    f"task(s) that could be read are kept, and the file as it "
                    f"was is saved as {copy.name}."
                )
            else:
                self._warn(f"The watchlist as it was is saved as {copy.name}.")
        return entries

    def _keep_copy(self, raw: bytes) -> Path:
        """Save ``raw`` beside the watchlist, once per content; return where."""
        import hashlib  # rarely needed: not worth its import at every start

        digest = hashlib.sha256(raw).hexdigest()[:12]
        copy = self.path.with_name(f"{self.path.name}.kept-{digest}")
        try:
            if copy.exists():
                return copy
            # Not the save's temporary name: a save under the lock deletes
            # those, and this may run without it.
            replace_atomically(copy, raw, ".watchlist-kept-", "")
        except OSError as error:
            raise WatchlistError(
                f"Cannot keep a copy of {self.path} before changing it: "
                f"{error.strerror or error}"
            ) from None
        return copy

    def _entry(self, number: int, table: Mapping[str, Any]) -> WatchEntry | None:
        """One entry from its table; a broken part is dropped with a warning."""
        task_id = table.get("task_id")
        added_at = table.get("added_at")
        if not isinstance(task_id, str) or not task_id:
            self._warn(f"task {number} in {self.path} has no task id; it was skipped")
            return None
        if not _is_aware(added_at):
            self._warn(f"task {task_id!r} in {self.path} has no valid added_at")
            added_at = datetime.fromtimestamp(0, UTC)

        checked_at = table.get("checked_at")
        if checked_at is not None and not _is_aware(checked_at):
            checked_at = None
        record = None
        if "record" in table:
            record = _record_from_json(task_id, table["record"])
            if record is None:
                self._warn(
                    f"the last-known record of {task_id!r} in {self.path} could "
                    "not be read; it will be fetched again"
                )
        fetch_error = None
        if "fetch_error" in table:
            fetch_error = _error_from_json(table["fetch_error"])
            if fetch_error is None:
                self._warn(
                    f"the last fetch error of {task_id!r} in {self.path} could "
                    "not be read; it was dropped"
                )
        return WatchEntry(task_id, added_at, record, checked_at, fetch_error)

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    # Writing.

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock.hold():
            yield

    def _write(self, entries: list[WatchEntry]) -> None:
        """Replace the file atomically with ``entries``; the lock must be held."""
        data = _dump(entries, self._blocks).encode("utf-8")
        self._remove_stale_temporaries()

        write_file(self.path, data, _TEMP_PREFIX, _TEMP_SUFFIX)
        self._cache = (self._identity() or (0, 0, 0, 0), list(entries))

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary files left by a process killed mid-save.

        Every save happens under the lock, which we hold, so any temporary
        file present belongs to a save that will never finish.
        """
        for stale in self.path.parent.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()


class FileGuard:
    """The cross-process lock of one file: ``<path>.lock``, held while changing it.

    Args:
        path: The file the lock guards; its folder is created when needed.
        timeout: Seconds to wait for another process to let go.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._lock: filelock.FileLock | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for the body of the ``with``.

        Raises:
            WatchlistError: The folder cannot be made, the lock file cannot
                be opened (a read-only folder, a folder in its place), or the
                lock stays held by someone else past the timeout.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WatchlistError(
                f"Cannot create the folder {self.path.parent}: "
                f"{error.strerror or error}"
            ) from None
        import filelock  # here, not at the top: reading needs no lock

        if self._lock is None:
            self._lock = filelock.FileLock(
                str(self.path) + ".lock", timeout=self.timeout
            )
        lock_file = self._lock.lock_file
        try:
            self._lock.acquire()
        except filelock.Timeout:  # a TimeoutError, so an OSError: first
            raise WatchlistError(
                f"Cannot change {self.path}: another veo-tui has held its lock "
                f"for more than {self.timeout:g} s "
                f"(if none is running, delete {lock_file})"
            ) from None
        except OSError as error:
            raise WatchlistError(
                f"Cannot change {self.path}: its lock file {lock_file} cannot "
                f"be opened: {error.strerror or error}"
            ) from None
        # Only taking the lock is guarded: an error in the body is its own.
        try:
            yield
        finally:
            self._lock.release()


def write_file(path: Path, data: bytes, prefix: str, suffix: str) -> None:
    """Replace ``path`` with ``data`` atomically and durably (see
    :func:`replace_atomically`); the lock must be held.

    Raises:
        WatchlistError: It cannot be written, with the system's reason.
    """
    try:
        replace_atomically(path, data, prefix, suffix)
    except OSError as error:
        raise WatchlistError(
            f"Cannot write {path}: {error.strerror or error}"
        ) from None
    fsync_folder(path.parent)


def set_aside(path: Path) -> Path:
    """Move an unreadable ``path`` to ``<name>.corrupt-<time>`` (with a serial
    if one was set aside that same second), never over another; return where.

    Raises:
        OSError: It cannot be moved (then it is where it was).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    serial = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{serial}")
        serial += 1
    os.replace(path, aside)
    return aside


def replace_atomically(target: Path, data: bytes, prefix: str, suffix: str) -> None:
    """Put ``data`` at ``target`` whole or not at all: a temporary file in the
    same folder, written and fsynced, then renamed over ``target``."""
    handle, temporary = tempfile.mkstemp(
        prefix=prefix, suffix=suffix, dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _same_entry(a: WatchEntry, b: WatchEntry) -> bool:
    # TaskRecord leaves params out of its equality; a change there still counts.
    if a != b:
        return False
    if a.record is None or b.record is None:
        return True
    return a.record.params == b.record.params


# The TOML form. The file is TOML so people can read it, but each record is
# one line of JSON in a TOML literal string: tomllib reads a literal string
# with one search where it reads tables key by key (about 8x faster for 1,000
# records), and JSON keeps what TOML cannot, such as the nulls of paramJson.
# For the same reason the file is emitted here rather than by tomli-w, whose
# writer walks every string character by character.


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text(value: str) -> str:
    """``value`` as UTF-8 can hold it: a lone surrogate becomes U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _toml_string(value: str) -> str:
    """A TOML basic string; JSON's escapes are TOML's, bar DEL, which TOML bans."""
    return json.dumps(_text(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_json(value: Mapping[str, Any]) -> str:
    """A TOML literal string holding ``value`` as one line of ASCII JSON.

    Quotes and DEL can only occur inside JSON strings, where ``\\u`` escapes
    mean the same, so replacing them keeps the JSON and makes the literal valid.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return "'" + text.replace("'", "\\u0027").replace("\x7f", "\\u007f") + "'"


def _toml_time(moment: datetime) -> str:
    return _utc(moment).isoformat()


_Blocks = dict[str, tuple[WatchEntry, str]]
"""Each entry's text as last written, by task id (entries are immutable, so
an entry that is the very same object needs no new text)."""


def _dump(entries: Sequence[WatchEntry], memo: _Blocks | None = None) -> str:
    """The file's text; ``memo`` lends the text of unchanged entries and is
    refilled with every entry's text."""
    old = dict(memo) if memo is not None else {}
    if memo is not None:
        memo.clear()
    parts = [_HEADER, f"version = {FORMAT_VERSION}", f"count = {len(entries)}"]
    for entry in entries:
        known = old.get(entry.task_id)
        block = known[1] if known is not None and known[0] is entry else None
        if block is None:
            block = _entry_block(entry)
        if memo is not None:
            memo[entry.task_id] = (entry, block)
        parts.append(block)
    parts.append("")
    return "\n".join(parts)


def _entry_block(entry: WatchEntry) -> str:
    lines = ["", "[[tasks]]", f"task_id = {_toml_string(entry.task_id)}"]
    lines.append(f"added_at = {_toml_time(entry.added_at)}")
    if entry.checked_at is not None:
        lines.append(f"checked_at = {_toml_time(entry.checked_at)}")
    if entry.record is not None:
        lines.append(f"record = {_toml_json(_record_to_json(entry.record))}")
    if entry.fetch_error is not None:
        lines.append(f"fetch_error = {_toml_json(_error_to_json(entry.fetch_error))}")
    return "\n".join(lines)


# Reading the form _dump writes, without tomllib. The watchlist is read at
# every start, and tomllib takes ~25 ms for 1,000 entries where these few
# line checks take a fraction of it. Anything not exactly as _dump writes it
# (a hand edit, a comment, an escape, another spacing) makes this give up and
# tomllib read the file: so this accepts a subset of TOML and yields the very
# document tomllib would (tests/test_watchlist_form.py checks both).

_OWN_HEADER = frozenset(_HEADER.split("\n"))
_OWN_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_OWN_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?\+00:00"
)
_NOT_IN_TOML_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_TOP_KEYS = frozenset({"version", "count"})
_TASK_KEYS = frozenset({"task_id", "added_at", "checked_at", "record", "fetch_error"})


_TABLE_HEADER = re.compile(r"[ \t]*\[")
_TASKS_HEADER = re.compile(r"[ \t]*\[\[[ \t]*tasks[ \t]*\]\][ \t]*(?:#.*)?")


def _salvage(text: str) -> tuple[dict[str, Any], int] | None:
    """What can be read of a watchlist that is not valid TOML as a whole.

    The text is cut before every line that starts a table (``[``, such as
    ``[[tasks]]``, or a broken one such as ``[[tasks``), and each part is read
    alone: a broken line then costs the one entry it is in. The document
    has the top-level keys and the ``[[tasks]]`` entries of the parts that
    could be read; the number says how many parts could not be. ``None``
    when no task could be read, so that a file that is not a watchlist at all
    is moved aside as before.
    """
    import tomllib

    parts: list[list[str]] = [[]]
    for line in text.split("\n"):
        if _TABLE_HEADER.match(line):
            parts.append([])
        parts[-1].append(line)
    document: dict[str, Any] = {}
    tasks: list[Any] = []
    skipped = 0
    for number, lines in enumerate(parts):
        try:
            part = tomllib.loads("\n".join(lines) + "\n")  # "\r\n" stays whole
        except tomllib.TOMLDecodeError:
            skipped += 1
            continue
        if number == 0:  # before the first table: version, count
            document = part
            top = part.get("tasks")
            if isinstance(top, list):
                tasks.extend(top)
        elif _TASKS_HEADER.fullmatch(lines[0].rstrip()):
            entry = part.get("tasks")
            if isinstance(entry, list):
                tasks.extend(entry)
        # Any other table is not part of a watchlist: it is ignored, as it is
        # when the whole file can be read.
    if not any(isinstance(task, dict) for task in tasks):
        return None
    document["tasks"] = tasks
    return document, skipped


def _read_own_form(text: str) -> dict[str, Any] | None:
    """The document tomllib would read from ``text``, if ``_dump`` wrote it.

    ``None`` when ``text`` strays in any way from that form; tomllib then
    decides what the file holds.
    """
    if _NOT_IN_TOML_TEXT.search(text):
        return None
    document: dict[str, Any] = {}
    tasks: list[dict[str, Any]] = []
    table = document
    for line in text.split("\n"):
        if not line:
            continue
        if line == "[[tasks]]":
            table = {}
            tasks.append(table)
            continue
        if line[0] == "#":
            if table is not document or document or line not in _OWN_HEADER:
                return None
            continue
        key, equals, value = line.partition(" = ")
        allowed = _TOP_KEYS if table is document else _TASK_KEYS
        if not equals or key not in allowed or key in table:
            return None
        parsed = _own_value(key, value)
        if parsed is None:
            return None
        table[key] = parsed
    if tasks:
        document["tasks"] = tasks
    return document


def _own_value(key: str, value: str) -> int | str | datetime | None:
    """One value as ``_dump`` writes it for ``key``, or ``None``."""
    if key in _TOP_KEYS:
        return int(value) if _OWN_INT.fullmatch(value) else None
    if key == "task_id":
        inner = value[1:-1]
        plain = (
            len(value) >= 2
            and value[0] == value[-1] == '"'
            and '"' not in inner
            and "\\" not in inner
        )
        return inner if plain else None
    if key in ("added_at", "checked_at"):
        if not _OWN_TIME.fullmatch(value):
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    inner = value[1:-1]  # record, fetch_error: a literal string
    if len(value) >= 2 and value[0] == value[-1] == "'" and "'" not in inner:
        return inner
    return None


def _record_to_json(record: TaskRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"state": record.state.value}
    for name, value in (
        ("success_flag", record.success_flag),
        ("resolution", record.resolution),
        ("error_code", record.error_code),
        ("error_message", record.error_message),
        ("prompt", record.prompt),
        ("message", record.message),
    ):
        if value is not None:
            data[name] = value
    for name, urls in (
        ("result_urls", record.result_urls),
        ("origin_urls", record.origin_urls),
        ("full_result_urls", record.full_result_urls),
    ):
        if urls:
            data[name] = list(urls)
    for name, moment in (
        ("created_at", record.created_at),
        ("completed_at", record.completed_at),
    ):
        if moment is not None:
            data[name] = _utc(moment).isoformat()
    if record.params:
        data["params"] = dict(record.params)
    return data


def _record_from_json(task_id: str, text: object) -> TaskRecord | None:
    """The record stored as ``text``, or ``None`` if any part of it is wrong.

    Written out rather than with comprehensions: a start-up reads one per
    task, and this is most of the time it takes to read a long watchlist.
    """
    data = _json_object(text)
    if data is None:
        return None
    get = data.get
    try:
        state = _STATES[data["state"]]
    except (KeyError, TypeError):  # missing, unknown, or not a string at all
        return None

    success_flag = get("success_flag")
    error_code = get("error_code")
    params = get("params", {})
    resolution = get("resolution")
    error_message = get("error_message")
    prompt = get("prompt")
    message = get("message")
    result_urls = get("result_urls", _NO_URLS)
    origin_urls = get("origin_urls", _NO_URLS)
    full_result_urls = get("full_result_urls", _NO_URLS)
    for value in (resolution, error_message, prompt, message):
        if value is not None and not isinstance(value, str):
            return None
    for value in (result_urls, origin_urls, full_result_urls):
        if not _is_str_list(value):
            return None
    if (
        (success_flag is not None and not _is_int(success_flag))
        or (error_code is not None and not (_is_int(error_code) or _is_str(error_code)))
        or not isinstance(params, dict)
    ):
        return None
    try:
        created_at = _time_from_json(get("created_at"))
        completed_at = _time_from_json(get("completed_at"))
    except ValueError:
        return None

    return TaskRecord(
        task_id=task_id,
        state=state,
        success_flag=success_flag,
        result_urls=tuple(result_urls),
        origin_urls=tuple(origin_urls),
        full_result_urls=tuple(full_result_urls),
        resolution=resolution,
        error_code=error_code,
        error_message=error_message,
        created_at=created_at,
        completed_at=completed_at,
        prompt=prompt,
        params=params,
        message=message,
    )


_STATES = {state.value: state for state in State}
"""A stored state's value to the state (a dict lookup is faster than State())."""
_NO_URLS: list[str] = []


def _time_from_json(value: object) -> datetime | None:
    """An aware time from its ISO form; raise ``ValueError`` if it is not one."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _error_to_json(error: FetchError) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": error.kind.value,
        "message": error.message,
        "retryable": error.retryable,
    }
    if error.code is not None:
        data["code"] = error.code
    if error.retry_after is not None:
        data["retry_after"] = error.retry_after
    return data


def _error_from_json(text: object) -> FetchError | None:
    data = _json_object(text)
    if data is None:
        return None
    try:
        kind = FetchErrorKind(data["kind"])
    except (KeyError, ValueError, TypeError):
        return None
    message = data.get("message", "")
    code = data.get("code")
    retryable = data.get("retryable", False)
    retry_after = data.get("retry_after")
    if (
        not isinstance(message, str)
        or (code is not None and not _is_int(code))
        or not isinstance(retryable, bool)
        or (retry_after is not None and not _is_number(retry_after))
    ):
        return None
    return FetchError(
        kind,
        message,
        code=code,
        retryable=retryable,
        retry_after=None if retry_after is None else float(retry_after),
    )


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_aware(value: object) -> TypeGuard[datetime]:
    return isinstance(value, datetime) and value.tzinfo is not None
