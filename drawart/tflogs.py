"""A quiet start: TensorFlow's C++ start-up lines are kept off the terminal unless asked for.

On a machine without a GPU, TensorFlow 2.21 prints lines such as

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1795469331.361505    9826 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1795469331.361826    9826 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...
    E0000 00:00:1795469338.288191    9826 cuda_platform.cc:52] failed call to cuInit: ...

C++ writes them straight to file descriptor 2, so Python's sys.stderr cannot filter them, and no
setting hides them all (measured): TF_CPP_MIN_LOG_LEVEL=3 hides only the cuInit line, and every real
error with it; the lines logged before absl::InitializeLog ignore it; TF_ENABLE_ONEDNN_OPTS=0 hides
the oneDNN line by changing the numerics. So while TensorFlow is imported and its devices are first
listed (where all of them are printed), fd 2 is pointed at a pipe, and a thread passes on every line
that is not known start-up chatter: real errors still reach the user, as they are written.

DRAWART_TF_LOGS=1 in the environment turns all of this off, and TensorFlow logs as it likes.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from contextlib import contextmanager

from drawart import compile_cache, heap

OPT_IN = "DRAWART_TF_LOGS"

# What TensorFlow prints at start-up that says nothing a user can act on: absl's note about early
# logging, informational lines, the CPU-instructions note's second line, and the errors that only
# mean "no GPU here" or "a CUDA plugin was registered twice" (printed on every GPU machine).
CHATTER = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] .*"
    r"|E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] (failed call to cuInit|Unable to register cu\w+ factory).*"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
)

_started = False


def wanted() -> bool:
    """Whether the user asked to see TensorFlow's own start-up logs."""
    return os.environ.get(OPT_IN, "").strip().lower() not in ("", "0", "false", "no")


def start_tensorflow() -> None:
    """Import TensorFlow and Keras and list the devices, without the start-up chatter (see above).

    Call before anything imports TensorFlow; later calls do nothing. It also sets what must be set
    before TensorFlow starts: the C heap's pad (heap.py) and XLA's compile cache.
    """
    global _started
    if _started:
        return
    heap.widen_pad()
    compile_cache.enable()
    if wanted():
        _import_and_list_devices()
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later INFO and WARNING lines too
        with filtered_stderr():
            _import_and_list_devices()
    _started = True


def _import_and_list_devices() -> None:
    import keras  # noqa: F401
    import tensorflow as tf

    tf.config.list_physical_devices()  # where the cuInit line is printed


@contextmanager
def filtered_stderr(chatter: re.Pattern = CHATTER):
    """Within the block, lines written to fd 2 (by C++ or Python) reach the real stderr unless
    they match `chatter` in full."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to speak of: nothing to keep quiet
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_pass_on, args=(read_end, saved, chatter), daemon=True)
    thread.start()
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(saved, 2)  # the pipe's last write end closes: the thread reads to its end
        thread.join(timeout=10)
        if not thread.is_alive():
            os.close(saved)


def _pass_on(read_end: int, out: int, chatter: re.Pattern) -> None:
    with os.fdopen(read_end, "rb") as pipe:
        for line in pipe:
            if not chatter.fullmatch(line.decode("utf-8", errors="replace").rstrip("\r\n")):
                os.write(out, line)
