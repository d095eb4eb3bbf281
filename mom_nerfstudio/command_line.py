"""What every mom4d command does at the command line: parse like `ns-train`, and turn a bad input into one line.

Library code raises `Mom4dInputError` (or the dataset format's `DatasetError`); only these entry points catch it,
print its message (no traceback) and exit with status 2. `ns-train` is nerfstudio's command, so a mom4d run that it
sets up reports a bad input the same way through `report_input_errors`, when the error reaches the top.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import NoReturn, TypeVar

import tyro
from rich.console import Console
from rich.markup import escape

from mom_nerfstudio.errors import INPUT_ERRORS
from mom_nerfstudio.log import setup_logging

Command = TypeVar("Command")


def parse_command_line(command_type: type[Command], args: list[str] | None = None, prog: str | None = None) -> Command:
    """Parse a mom4d command's arguments (`sys.argv` by default) the way `ns-train` does: booleans are written
    `--flag True` or `--flag False`. `prog` names the command in its usage line (default: the program's path)."""
    return tyro.cli(command_type, args=args, prog=prog, config=(tyro.conf.FlagConversionOff,))


def exit_with(error: ValueError, program: str) -> NoReturn:
    """Print a bad input's message as one line, as `program` says it, and exit with status 2."""
    # Escaped: paths and examples in the message may hold [brackets] that rich would read as markup.
    Console(stderr=True).print(f"[bold red]{program}: {escape(str(error))}", soft_wrap=True)
    sys.exit(2)


def run_command(
    command_type: type[Command], action: Callable[[Command], object], program: str, args: list[str] | None = None
) -> None:
    """Parse `command_type` from the command line (`args`, default `sys.argv`) and run `action` on it, reporting a
    bad input in one line.

    Parsing is inside the handler too: a config's `__post_init__` may refuse a value that tyro parsed. tyro
    reports such a refusal itself only for configs nested under an option prefix; one without a prefix (the
    synthesis options of `mom4d-synthesize`) raises out of `tyro.cli`.
    """
    try:
        command = parse_command_line(command_type, args, program if args is not None else None)
        setup_logging()
        action(command)
    except INPUT_ERRORS as error:
        exit_with(error, program)


def report_input_errors(program: str) -> None:
    """From now on, a bad input that no one catches ends the process as `exit_with` does, instead of with a
    traceback; every other error goes on to the hook there was before."""
    previous = sys.excepthook
    if getattr(previous, "reports_input_errors", False):
        return

    def hook(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        if isinstance(error, INPUT_ERRORS):
            exit_with(error, program)
        previous(kind, error, traceback)

    hook.reports_input_errors = True  # type: ignore[attr-defined]
    sys.excepthook = hook
