"""The optional log file a user can attach to a bug report.

Off by default; ``--log``, ``VEO_TUI_LOG=1`` or ``log.enabled`` turns it on.
A filter scrubs the API key from every record as a second line of defence:
no code path logs it on purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path

from veo_tui.store.config import Config, log_path


class _RedactKey(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg = message.replace(self._secret, "[key]")
            record.args = None
        if record.exc_info:
            # Formatters use exc_text when set (another handler may have set
            # it already): scrubbing it scrubs the traceback.
            text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_text = text.replace(self._secret, "[key]")
        if record.stack_info:
            record.stack_info = record.stack_info.replace(self._secret, "[key]")
        return True


def setup_logging(config: Config) -> Path | None:
    """Start the log file if the config asks for it; return its path."""
    if not config.log_enabled:
        return None
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private from the start: logs hold task ids and prompts.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    if config.api_key:
        handler.addFilter(_RedactKey(config.api_key))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
