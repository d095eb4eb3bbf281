"""What every mom4d command does at the command line: parse like `ns-train`, and turn a bad input into one line.

Library code raises `Mom4dInputError`; only these entry points catch it, print its message (no traceback) and exit
with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import tyro
from rich.console import Console
from rich.markup import escape

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import setup_logging

Command = TypeVar("Command")


def parse_command_line(command_type: type[Command], args: list[str] | None = None) -> Command:
    """Parse a mom4d command's arguments (`sys.argv` by default) the way `ns-train` does: booleans are written
    `--flag True` or `--flag False`."""
    return tyro.cli(command_type, args=args, config=(tyro.conf.FlagConversionOff,))


def exit_with(error: Mom4dInputError, program: str) -> NoReturn:
    """Print a bad input's message as one line, as `program` says it, and exit with status 2."""
    # Escaped: paths and examples in the message may hold [brackets] that rich would read as markup.
    Console(stderr=True).print(f"[bold red]{program}: {escape(str(error))}", soft_wrap=True)
    sys.exit(2)


def run_command(command_type: type[Command], action: Callable[[Command], object], program: str) -> None:
    """Parse `command_type` from the command line and run `action` on it, reporting a bad input in one line.

    Parsing is inside the handler too: a config's `__post_init__` may refuse a value that tyro parsed. tyro
    reports such a refusal itself only for configs nested under an option prefix; one without a prefix (the
    synthesis options of `mom4d-synthesize`) raises out of `tyro.cli`.
    """
    try:
        command = parse_command_line(command_type)
        setup_logging()
        action(command)
    except Mom4dInputError as error:
        exit_with(error, program)
