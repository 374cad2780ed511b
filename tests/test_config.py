"""Config: where it is found, precedence, and one clear line per mistake."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from tests.conftest import FAKE_KEY
from veo_tui.store.config import (
    SCHEMA,
    ConfigError,
    default_config_path,
    key_file_is_exposed,
    load_config,
)

ROOT = Path(__file__).parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file() -> None:
    config = load_config(environ={})

    assert config.path is None
    assert config.api_key is None
    assert config.base_url == "https://api.kie.ai"
    assert config.max_retries == 3
    assert config.timeout == 20.0
    assert config.connect_timeout == 5.0
    assert config.concurrency == 8


def test_default_path_honours_xdg_config_home(tmp_path: Path) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "veo-tui"
    folder.mkdir()
    (folder / "config.toml").write_text("[api]\nmax_retries = 1\n")

    config = load_config()

    assert default_config_path() == folder / "config.toml"
    assert config.path == folder / "config.toml"
    assert config.max_retries == 1


def test_env_config_path_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\nconcurrency = 3\n")

    assert load_config(environ={"VEO_TUI_CONFIG": str(path)}).concurrency == 3


def test_flag_config_path_beats_the_environment(tmp_path: Path) -> None:
    flagged = write(tmp_path, "[poll]\nconcurrency = 3\n")
    other = tmp_path / "other.toml"
    other.write_text("[poll]\nconcurrency = 5\n")

    config = load_config(str(flagged), environ={"VEO_TUI_CONFIG": str(other)})

    assert config.concurrency == 3


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(str(tmp_path / "missing.toml"), environ={})


def test_env_key_beats_the_config_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nkey = "sk-test-from-file"\n')

    config = load_config(str(path), environ={"KIE_API_KEY": FAKE_KEY})

    assert config.api_key == FAKE_KEY
    assert config.key_source == "KIE_API_KEY"


def test_config_key_is_used_without_env(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nkey = "sk-test-from-file"\n')

    config = load_config(str(path), environ={})

    assert config.api_key == "sk-test-from-file"
    assert config.key_source is not None
    assert "api.key" in config.key_source


def test_base_url_precedence_flag_env_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nbase_url = "https://file.example"\n')
    env = {"KIE_BASE_URL": "https://env.example/"}

    assert load_config(str(path), environ={}).base_url == "https://file.example"
    assert load_config(str(path), environ=env).base_url == "https://env.example"
    flagged = load_config(str(path), base_url="http://127.0.0.1:8777", environ=env)
    assert flagged.base_url == "http://127.0.0.1:8777"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[api]\nmax_retries = 'three'\n",
            "api.max_retries must be an integer from 0 to 10, got 'three' (a string)",
        ),
        (
            "[api]\ntimeout = -1\n",
            "api.timeout must be seconds from 0.1 to 600, got -1",
        ),
        ("[api]\ntiemout = 5\n", "unknown key api.tiemout"),
        ("[apii]\nkey = 'x'\n", "unknown section [apii]"),
        ("[api]\nbase_url = 'ftp://x'\n", "api.base_url must be an http(s) URL"),
        (
            "[api]\ntimezone = 'Mars/Olympus'\n",
            "api.timezone must be an IANA time zone",
        ),
        ("[log]\nenabled = 'yes'\n", "log.enabled must be true or false"),
        ("[api]\nkey = \n", "not valid TOML"),
        ("api = 3\n", "api must be a table"),
        (
            "[poll]\nmax_requests_per_second = 1e-300\n",
            "poll.max_requests_per_second must be 0 (no limit) or a number "
            "from 0.01 to 1000",
        ),
    ],
)
def test_bad_config_is_one_line_naming_file_key_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(str(path), environ={})

    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[api]\nmax_retries = 3\nkey = = 4\n")

    with pytest.raises(ConfigError, match="line 3"):
        load_config(str(path), environ={})


def test_non_utf8_config_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"[api]\nkey = '\xff'\n")

    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(str(path), environ={})


def test_a_folder_given_as_the_config_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(str(tmp_path), environ={})

    assert str(caught.value) == (
        f"Cannot read {tmp_path}: it is a folder (a config file must be a regular "
        "file of at most 1 MB)"
    )


def test_a_config_over_1_mb_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "#" * (1 << 20) + "\n")  # 1 MB and a byte

    with pytest.raises(ConfigError) as caught:
        load_config(str(path), environ={})

    assert str(caught.value) == (
        f"Cannot read {path}: it is larger than 1 MB (a config file must be a "
        "regular file of at most 1 MB)"
    )


def test_a_config_of_exactly_1_mb_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\nconcurrency = 3\n#")
    with path.open("a") as stream:
        stream.write("#" * ((1 << 20) - path.stat().st_size))

    assert load_config(str(path), environ={}).concurrency == 3


@pytest.mark.skipif(os.name != "posix", reason="needs symbolic links")
def test_a_config_reached_through_a_symbolic_link_is_read(tmp_path: Path) -> None:
    target = write(tmp_path, "[poll]\nconcurrency = 5\n")
    link = tmp_path / "link.toml"
    link.symlink_to(target)

    assert load_config(str(link), environ={}).concurrency == 5


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999", "no valid port"),
        ("http://127.0.0.1:abc", "no valid port"),
        ("http://127.0.0.1:-1", "no valid port"),
        ("http://user:pw@127.0.0.1:8777", "user name or password"),
    ],
)
def test_unusable_base_urls_are_refused_before_any_request(
    url: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_config(environ={"KIE_BASE_URL": url})


def test_bad_base_url_in_env_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="KIE_BASE_URL"):
        load_config(environ={"KIE_BASE_URL": "api.kie.ai"})


def test_key_file_readable_by_others_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nkey = "sk-test-from-file"\n')
    config = load_config(str(path), environ={})

    path.chmod(0o644)
    assert key_file_is_exposed(config)
    path.chmod(0o600)
    assert not key_file_is_exposed(config)


def test_config_repr_never_shows_the_key(tmp_path: Path) -> None:
    config = load_config(environ={"KIE_API_KEY": FAKE_KEY})

    assert FAKE_KEY not in repr(config)


def test_example_config_documents_every_key_with_its_default() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))

    documented = {(s, k): v for s, table in example.items() for k, v in table.items()}
    expected = {
        (s, k): key.default for s, keys in SCHEMA.items() for k, key in keys.items()
    }
    assert documented == expected


def test_example_config_loads_cleanly() -> None:
    config = load_config(str(ROOT / "config.example.toml"), environ={})

    assert config.base_url == "https://api.kie.ai"


def test_an_interval_longer_than_the_max_interval_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = 120\n")

    with pytest.raises(ConfigError) as refused:
        load_config(config_path=str(path), environ={})

    assert str(refused.value) == (
        f"Cannot read {path}: poll.interval (120) is longer than "
        "poll.max_interval (60, the default); raise poll.max_interval or lower "
        "poll.interval"
    )


def test_an_interval_equal_to_the_max_interval_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\ninterval = 30\nmax_interval = 30\n")

    config = load_config(config_path=str(path), environ={})

    assert (config.poll_interval, config.poll_max_interval) == (30.0, 30.0)


def test_an_empty_config_flag_is_refused_not_taken_for_the_defaults() -> None:
    with pytest.raises(ConfigError, match="--config was given an empty path"):
        load_config("", environ={})


@pytest.mark.parametrize("rate", ["0", "0.01", "2.5", "1000"])
def test_request_limits_that_make_sense_are_taken(tmp_path: Path, rate: str) -> None:
    path = write(tmp_path, f"[poll]\nmax_requests_per_second = {rate}\n")

    assert load_config(str(path), environ={}).max_requests_per_second == float(rate)
