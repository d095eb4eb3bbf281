"""Errors that describe a problem with the user's input.

They are caught at the command-line boundary and printed as one clear message, without a traceback.
"""

from dataparsers.dataset_format import DatasetError


class Mom4dInputError(ValueError):
    """A bad input: the message names the input and says what to do about it.

    A ValueError, so that tyro reports one raised while it builds a nested config from the command line (in the
    config's `__post_init__`, as the `mom4d-data` options of `ns-train` are checked) as a usage error, before
    nerfstudio prints the config or creates a run folder.
    """


INPUT_ERRORS: tuple[type[ValueError], ...] = (Mom4dInputError, DatasetError)
"""What the command lines report in one line: a bad input, and a folder that is not a complete dataset (which the
dataset format raises itself, as it imports nothing of the project)."""
