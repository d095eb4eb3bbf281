"""Errors that describe a problem with the user's input.

They are caught at the command-line boundary and printed as one clear message, without a traceback.
"""


class Mom4dInputError(ValueError):
    """A bad input: the message names the input and says what to do about it.

    A ValueError, so that tyro reports one raised while it builds a nested config from the command line (in the
    config's `__post_init__`, as the `mom4d-data` options of `ns-train` are checked) as a usage error, before
    nerfstudio prints the config or creates a run folder.
    """
