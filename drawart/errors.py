"""The exception types the CLI turns into a single line and an exit code."""


class DrawartError(Exception):
    """A problem with what the user asked for; str(err) is one line: what is wrong and what to do."""

    exit_code = 2


class Interrupted(DrawartError):
    """Training stopped by Ctrl-C; str(err) says where it stopped and how to go on. Not an error."""

    exit_code = 130


class RunError(DrawartError):
    """The run directory cannot be used as asked."""


def from_ctrl_c(err: BaseException) -> bool:
    """Whether Ctrl-C is behind `err`. A KeyboardInterrupt that lands while TensorFlow's C++ code
    is calling back into Python (tracing a function, as a render at a checkpoint does the first
    time) comes out as another error (SystemError, then TypeError) with the interrupt in its chain."""
    chain, seen = [err], set()
    while chain:
        err = chain.pop()
        if err is None or id(err) in seen:
            continue
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        chain += [err.__cause__, err.__context__]
    return False
