"""Read ``config.toml`` and the environment into one checked :class:`Config`.

Precedence, highest first: command-line flag, environment variable, config
file, default. The file is only ever read, never written. Every problem with
it (broken TOML, an unknown key, a wrong type) is one :class:`ConfigError`
whose message names the file, the key and what was expected.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

APP_NAME = "veo-tui"
DEFAULT_BASE_URL = "https://api.kie.ai"
ENV_CONFIG = "VEO_TUI_CONFIG"
ENV_KEY = "KIE_API_KEY"
ENV_BASE_URL = "KIE_BASE_URL"
ENV_LOG = "VEO_TUI_LOG"

CONFIG_SIZE_LIMIT = 1 << 20
"""The largest config file read (1 MB): a real one is a few hundred bytes."""


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` says where and why."""


class NotAFileError(Exception):
    """A path that must be a regular file of bounded size is not one.

    ``str()`` says why in words for the user, without the path: "it is a
    folder", "it is larger than 1 MB".
    """


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, refusing anything else.

    A folder, device (``/dev/zero``, ``/dev/urandom``), named pipe or socket
    is refused before it is read, as is a file longer than ``limit`` bytes,
    so that a wrong path gives an error rather than a hang or all the memory.
    Symbolic links are followed.

    Raises:
        OSError: From the system, e.g. :class:`FileNotFoundError`.
        NotAFileError: ``path`` is not a regular file, or is too long.
    """
    _check_regular(os.stat(path).st_mode)
    # O_NONBLOCK: should a pipe take the file's place after the check, opening
    # it must not wait for a writer (the check below then refuses it).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as stream:
        _check_regular(os.fstat(descriptor).st_mode)
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise NotAFileError(f"it is larger than {size_text(limit)}")
    return data


def _check_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    raise NotAFileError(f"it is {kind}")


def size_text(limit: int) -> str:
    """``limit`` bytes in words: ``1 MB``, ``256 MB``."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


@dataclass(frozen=True, slots=True)
class _Key:
    default: Any
    check: Callable[[Any], bool]
    expected: str


def _is_int(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_number(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: (
        isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
    )


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_path(v: Any) -> bool:
    return isinstance(v, str) and "\x00" not in v


SCHEMA: Mapping[str, Mapping[str, _Key]] = {
    "api": {
        "key": _Key("", _is_str, "a string"),
        "base_url": _Key(DEFAULT_BASE_URL, _is_str, "an http(s) URL string"),
        "timezone": _Key("UTC", _is_str, "an IANA time zone name such as 'UTC'"),
        "connect_timeout": _Key(5.0, _is_number(0.1, 300), "seconds from 0.1 to 300"),
        "timeout": _Key(20.0, _is_number(0.1, 600), "seconds from 0.1 to 600"),
        "max_retries": _Key(3, _is_int(0, 10), "an integer from 0 to 10"),
    },
    "poll": {
        "interval": _Key(10.0, _is_number(1, 3600), "seconds from 1 to 3600"),
        "max_interval": _Key(60.0, _is_number(1, 86_400), "seconds from 1 to 86400"),
        "grace": _Key(120.0, _is_number(0, 86_400), "seconds from 0 to 86400"),
        "concurrency": _Key(8, _is_int(1, 64), "an integer from 1 to 64"),
        # Below 0.01 (one request in 100 s) is a typo, not a limit.
        "max_requests_per_second": _Key(
            10.0,
            lambda v: _is_number(0.01, 1000)(v) or (_is_number(0, 0)(v)),
            "0 (no limit) or a number from 0.01 to 1000",
        ),
    },
    "ui": {
        "notify": _Key(True, _is_bool, "true or false"),
        "bell": _Key(True, _is_bool, "true or false"),
    },
    "log": {
        "enabled": _Key(False, _is_bool, "true or false"),
    },
    "downloads": {
        "dir": _Key(
            "", _is_path, "a folder path string ('' for the user's download folder)"
        ),
        "auto": _Key(False, _is_bool, "true or false"),
    },
}
"""Every key the config file may hold: its default, its check, what it expects."""


@dataclass(frozen=True, slots=True)
class Config:
    """The settings in force, after flags, environment, file and defaults.

    Attributes:
        path: The config file that was read, or ``None`` when none exists.
        api_key: The key, or ``None`` when none is set anywhere.
        key_source: Where the key came from, for messages (never the key).
        base_url: kie.ai's (or the stand-in's) base URL, without a final slash.
        timezone: The zone of naive times in records.
        connect_timeout: Seconds allowed to connect.
        timeout: Seconds allowed for a whole request.
        max_retries: Retries after a retryable failure.
        concurrency: Requests in flight at once.
        poll_interval: Seconds between checks of a generating task, at first.
        poll_max_interval: The longest wait between checks of one task.
        poll_grace: Seconds a "record is null." answer counts as "still coming".
        max_requests_per_second: Requests started per second; 0 for no limit.
        log_enabled: Whether to write the log file.
        notify: Whether the dashboard notifies when a task finishes.
        bell: Whether the dashboard rings the bell when a task finishes.
        download_dir: Where result videos are saved.
        downloads_auto: Whether the dashboard downloads each task's results
            when it succeeds while being watched.
    """

    path: Path | None
    api_key: str | None = field(repr=False)
    key_source: str | None
    base_url: str
    timezone: ZoneInfo
    connect_timeout: float
    timeout: float
    max_retries: int
    concurrency: int
    log_enabled: bool
    notify: bool = True
    bell: bool = True
    poll_interval: float = 10.0
    poll_max_interval: float = 60.0
    poll_grace: float = 120.0
    max_requests_per_second: float = 10.0
    download_dir: Path = field(default_factory=lambda: default_download_dir())
    downloads_auto: bool = False


def default_download_dir() -> Path:
    """The user's download folder (``~/Downloads`` on most systems)."""
    return Path(platformdirs.user_downloads_dir())


def default_config_path() -> Path:
    """Where the config file lives when nothing says otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def log_path() -> Path:
    """Where the log file goes when logging is on."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "veo-tui.log"


def load_config(
    config_path: str | None = None,
    *,
    base_url: str | None = None,
    concurrency: int | None = None,
    log: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Gather the settings in force.

    Args:
        config_path: ``--config``; overrides ``VEO_TUI_CONFIG`` and the default.
        base_url: ``--base-url``; overrides ``KIE_BASE_URL`` and the file.
        concurrency: ``--concurrency``; overrides ``poll.concurrency``.
        log: ``--log``; when true, overrides ``log.enabled``.
        environ: The environment (default: ``os.environ``).

    Raises:
        ConfigError: The file or a value cannot be used.
    """
    env = os.environ if environ is None else environ
    path, explicit = _choose_path(config_path, env)
    values = _read_file(path, explicit)
    where = str(path) if path is not None else "the defaults"

    key_source: str | None = None
    api_key: str | None = env.get(ENV_KEY, "").strip() or None
    if api_key is not None:
        key_source = ENV_KEY
    elif values["api"]["key"].strip():
        api_key = values["api"]["key"].strip()
        key_source = f"api.key in {where}"

    if base_url is not None:
        url = _check_base_url(base_url, "--base-url")
    elif env.get(ENV_BASE_URL, "").strip():
        url = _check_base_url(env[ENV_BASE_URL], ENV_BASE_URL)
    else:
        url = _check_base_url(
            values["api"]["base_url"], f"Cannot read {where}: api.base_url"
        )

    try:
        zone = ZoneInfo(values["api"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Cannot read {where}: api.timezone must be "
            f"{SCHEMA['api']['timezone'].expected}, got {values['api']['timezone']!r}"
        ) from None

    poll = values["poll"]
    if poll["interval"] > poll["max_interval"]:
        default = poll["max_interval"] == SCHEMA["poll"]["max_interval"].default
        given = ", the default" if default else ""
        raise ConfigError(
            f"Cannot read {where}: poll.interval ({poll['interval']:g}) is longer "
            f"than poll.max_interval ({poll['max_interval']:g}{given}); raise "
            "poll.max_interval or lower poll.interval"
        )

    if concurrency is not None and not 1 <= concurrency <= 64:
        raise ConfigError(f"--concurrency must be from 1 to 64, got {concurrency}")

    return Config(
        path=path,
        api_key=api_key,
        key_source=key_source,
        base_url=url,
        timezone=zone,
        connect_timeout=float(values["api"]["connect_timeout"]),
        timeout=float(values["api"]["timeout"]),
        max_retries=values["api"]["max_retries"],
        concurrency=concurrency
        if concurrency is not None
        else values["poll"]["concurrency"],
        log_enabled=bool(log)
        or env.get(ENV_LOG, "") not in ("", "0")
        or values["log"]["enabled"],
        notify=values["ui"]["notify"],
        bell=values["ui"]["bell"],
        poll_interval=float(values["poll"]["interval"]),
        poll_max_interval=float(values["poll"]["max_interval"]),
        poll_grace=float(values["poll"]["grace"]),
        max_requests_per_second=float(values["poll"]["max_requests_per_second"]),
        download_dir=_download_dir(values["downloads"]["dir"]),
        downloads_auto=values["downloads"]["auto"],
    )


def _download_dir(value: str) -> Path:
    """``downloads.dir`` as a path: ``~`` expanded, empty for the default."""
    if not value.strip():
        return default_download_dir()
    return Path(value.strip()).expanduser()


def key_file_is_exposed(config: Config) -> bool:
    """Whether the key came from a config file that group or others can read."""
    if config.path is None or config.key_source is None or config.key_source == ENV_KEY:
        return False
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH)) and os.name == "posix"


def _choose_path(flag: str | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read, and whether the user named it (so it must exist)."""
    if flag is not None:
        if not flag.strip():
            raise ConfigError("--config was given an empty path")
        return Path(flag).expanduser(), True
    if env.get(ENV_CONFIG, "").strip():
        return Path(env[ENV_CONFIG]).expanduser(), True
    path = default_config_path()
    return (path if path.exists() else None), False


def _read_file(path: Path | None, explicit: bool) -> dict[str, dict[str, Any]]:
    """The file's values checked against :data:`SCHEMA`, defaults filled in."""
    values = {
        section: {k: key.default for k, key in keys.items()}
        for section, keys in SCHEMA.items()
    }
    if path is None:
        return values
    try:
        raw = read_regular_file(path, CONFIG_SIZE_LIMIT)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"Cannot read {path}: no such file") from None
        return values
    except OSError as error:
        raise ConfigError(f"Cannot read {path}: {error.strerror or error}") from None
    except NotAFileError as error:
        raise ConfigError(
            f"Cannot read {path}: {error} (a config file must be a regular file "
            f"of at most {size_text(CONFIG_SIZE_LIMIT)})"
        ) from None
    import tomllib  # only when there is a file: the dashboard's start may have none

    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"Cannot read {path}: not UTF-8 text (byte {error.start + 1})"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Cannot read {path}: not valid TOML: {error}") from None

    for section, table in document.items():
        if section not in SCHEMA:
            known = ", ".join(f"[{name}]" for name in SCHEMA)
            raise ConfigError(
                f"Cannot read {path}: unknown section [{section}] (known: {known})"
            )
        if not isinstance(table, dict):
            raise ConfigError(
                f"Cannot read {path}: {section} must be a table: write [{section}]"
            )
        for name, value in table.items():
            key = SCHEMA[section].get(name)
            if key is None:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(
                    f"Cannot read {path}: unknown key {section}.{name} "
                    f"(known in [{section}]: {known})"
                )
            if not key.check(value):
                raise ConfigError(
                    f"Cannot read {path}: {section}.{name} must be {key.expected}, "
                    f"got {_describe(value)}"
                )
            values[section][name] = value
    return values


def _describe(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(type(value), f"a {type(value).__name__}")
    # As TOML writes them: true/false, not Python's True/False.
    shown = str(value).lower() if isinstance(value, bool) else repr(value)
    if len(shown) > 40:
        shown = shown[:39] + "…"
    return f"{shown} ({kind})"


def _check_base_url(value: str, where: str) -> str:
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"{where} must be an http(s) URL like https://api.kie.ai, got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{where} must not have a query or fragment, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"{where} must not hold a user name or password (the key goes in "
            f"KIE_API_KEY), got {value!r}"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ConfigError(
            f"{where} has no valid port (1 to 65535), got {value!r}"
        ) from None
    if parts.port == 0:
        raise ConfigError(f"{where} has no valid port (1 to 65535), got {value!r}")
    return url
