"""Reading a JSON file that the user wrote or edited: what is wrong with it is named in one line."""

import json
import math
from pathlib import Path
from typing import Any

from mom_nerfstudio.errors import Mom4dInputError


def is_number(value: Any) -> bool:
    """Whether a parsed JSON value is a finite number (JSON's true and false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def read_json(path: Path) -> Any:
    """Parse the JSON file `path`; raises Mom4dInputError for a missing or unreadable file, one that is not text,
    or a syntax error (naming its line and column)."""
    path = Path(path)
    if not path.is_file():
        raise Mom4dInputError(f"{path} not found." if not path.exists() else f"{path} is a folder, not a JSON file.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise Mom4dInputError(
            f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}."
        ) from error
    except UnicodeDecodeError as error:
        raise Mom4dInputError(f"{path}: not a UTF-8 text file ({error.reason}); save it as JSON.") from error
    except OSError as error:
        raise Mom4dInputError(f"{path} could not be read ({error.strerror or error}).") from error
