"""``veo-tui`` and ``veo-tui --demo``: open the dashboard.

Textual is imported only here, when the dashboard is really wanted, so the
headless commands start fast and run where no terminal is.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from veo_tui.api import ApiOptions
from veo_tui.cli.common import EXIT_OK, UsageError, client_options
from veo_tui.cli.logs import setup_logging
from veo_tui.polling.scheduler import PollSettings
from veo_tui.store.config import (
    ENV_KEY,
    Config,
    ConfigError,
    load_config,
)
from veo_tui.store.prefs import Prefs
from veo_tui.store.watchlist import (
    WatchlistError,
    WatchlistStore,
    default_watchlist_path,
)

DEMO_POLL = PollSettings(interval=3.0, max_interval=10.0)
"""The stand-in is on this machine and free: the demo may poll it briskly."""


def run_dashboard(args: argparse.Namespace) -> int:
    """Open the dashboard on the user's watchlist, or on the demo."""
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise UsageError(
            "the dashboard needs a terminal; for scripts use `veo-tui status` "
            "(see veo-tui --help)"
        )
    if args.demo:
        return _run_demo()
    config = load_config(args.config, log=args.log)
    setup_logging(config)
    return _run_app(config, args)


def _api_options(config: Config) -> tuple[ApiOptions | None, str | None]:
    """The client options, or ``None`` and the banner explaining why not."""
    if not config.api_key:
        return None, (
            f"No API key: set api.key in the config file (picked up within "
            f"seconds), or quit (q), `export {ENV_KEY}=your-key` (from "
            "https://kie.ai/api-key) and start again. Tasks can be added meanwhile."
        )
    return client_options(config), None


def _key_refused_message(config: Config) -> str:
    """What to do when kie.ai refuses the key, for where the key came from."""
    if config.key_source == ENV_KEY:
        return (
            f"kie.ai refused the API key in {ENV_KEY}: polling is paused. Quit "
            f"(q), set {ENV_KEY} to a working key (https://kie.ai/api-key) and "
            "start again; press r to try the same key again."
        )
    return (
        f"kie.ai refused the {config.key_source or 'API key'}: polling is paused "
        "until it changes. Fix it there and it is picked up within seconds; "
        "press r to try again now."
    )


def poll_settings(config: Config) -> PollSettings:
    """The polling policy the config asks for."""
    return PollSettings(
        interval=config.poll_interval,
        max_interval=config.poll_max_interval,
        grace=config.poll_grace,
        concurrency=config.concurrency,
        max_requests_per_second=config.max_requests_per_second,
    )


def _key_source(args: argparse.Namespace) -> Callable[[], ApiOptions | None]:
    """Reads the config again, for a key set or fixed while the dashboard runs."""

    def read() -> ApiOptions | None:
        try:
            config = load_config(args.config, log=args.log)
            # Quietly: a warning on stderr would scribble over the dashboard.
            return client_options(config, warn=False) if config.api_key else None
        except (ConfigError, UsageError):
            return None

    return read


def _run_app(config: Config, args: argparse.Namespace) -> int:
    from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

    api, no_key = _api_options(config)
    store = WatchlistStore(default_watchlist_path())
    try:
        store.load()
    except WatchlistError as error:
        raise UsageError(str(error)) from None
    app = VeoTuiApp(
        store,
        Engine(api, poll_settings(config), key_source=_key_source(args)),
        options=DashboardOptions(
            notify=config.notify,
            bell=config.bell,
            no_key_message=no_key,
            key_refused_message=_key_refused_message(config),
            download_dir=config.download_dir,
            downloads_auto=config.downloads_auto,
            own_process=True,
        ),
        prefs=Prefs.load(),
    )
    return app.run() or EXIT_OK


def _run_demo() -> int:
    from veo_tui.sim import running_sim_in_thread
    from veo_tui.ui import DashboardOptions, Engine, VeoTuiApp

    with (
        tempfile.TemporaryDirectory(prefix="veo-tui-demo-") as folder,
        running_sim_in_thread(scenario="demo", port=0) as sim,
    ):
        store = WatchlistStore(Path(folder) / "watchlist.toml")
        now = datetime.now(UTC)
        # Stagger the added times so the watchlist keeps the scenario's order.
        for offset, task_id in enumerate(sim.task_ids):
            store.add([task_id], now + timedelta(microseconds=offset))
        api = ApiOptions(base_url=sim.base_url, key=sim.key)
        note = (
            f"Demo: the local stand-in at {sim.base_url}, which began with "
            f"{len(sim.task_ids)} tasks. Your own watchlist and config are not "
            "touched; downloads go to a temporary folder, deleted on quit."
        )
        app = VeoTuiApp(
            store,
            Engine(api, DEMO_POLL),
            options=DashboardOptions(
                note=note,
                bell=False,
                download_dir=Path(folder) / "downloads",
                own_process=True,
            ),
            prefs=Prefs(Path(folder) / "prefs.toml"),
        )
        return app.run() or EXIT_OK
