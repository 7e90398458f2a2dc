"""The exception types the CLI turns into a single line and an exit code."""


class DrawartError(Exception):
    """A problem with what the user asked for; str(err) is one line: what is wrong and what to do."""

    exit_code = 2


class Interrupted(DrawartError):
    """Training stopped by Ctrl-C; str(err) says where it stopped and how to go on. Not an error."""

    exit_code = 130


class RunError(DrawartError):
    """The run directory cannot be used as asked."""
