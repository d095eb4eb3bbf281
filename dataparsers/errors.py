"""Errors that describe a problem with the user's input.

They are caught at the command-line boundary and printed as one clear message, without a traceback.
"""


class Mom4dInputError(Exception):
    """A bad input: the message names the input and says what to do about it."""
