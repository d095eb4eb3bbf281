"""The project's logger: plain `logging`, shown through rich when a command runs."""

import logging

from rich.logging import RichHandler

logger = logging.getLogger("mom4d")


def setup_logging(level: int = logging.INFO) -> None:
    """Show mom4d's log lines on the terminal through rich (idempotent)."""
    if not any(isinstance(handler, RichHandler) for handler in logger.handlers):
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
