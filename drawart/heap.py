"""The C heap's pad, widened before TensorFlow starts, so that XLA's step does not fault in fresh
memory at every operation.

glibc's malloc gives the free top of a thread's heap back to the kernel once it exceeds the heap's
pad (128 KiB by default), and XLA on a CPU allocates and frees buffers around every operation of
the compiled step. On a thread whose heap sat at that edge, every operation paid for page faults and
the kernel's unmapping (under perf, page faults, TLB shootdowns and the heap's locks led the
profile). Through `drawart fit` at 64 px, two noise samples a step ran 15.0 steps a second with
glibc's pad and 36.3 with this one, four 12.9 and 28.6, one 47.5 and 49.2 (`python
bench/heap_pad.py`). glibc gives a thread's heap its pad when the heap is made, so this must run
before TensorFlow starts its threads: tflogs.start_tensorflow calls it first.

DRAWART_HEAP_PAD=0 in the environment leaves glibc's default (to compare, or should it ever hurt).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# glibc's mallopt parameter for the pad (malloc.h), and the pad: 2 MiB was enough at two samples
# a step (an ad-hoc run); 16 MiB leaves room for larger pictures' buffers.
M_TOP_PAD = -2
PAD_BYTES = 16 * 1024 * 1024

OPT_OUT = "DRAWART_HEAP_PAD"

_padded = False


def widen_pad() -> bool:
    """Set glibc's heap pad to PAD_BYTES for this process; whether it was set (only Linux with
    glibc has the knob; elsewhere, or with DRAWART_HEAP_PAD=0, nothing happens)."""
    global _padded
    if _padded:
        return True
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT, "").strip() == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _padded = mallopt(M_TOP_PAD, PAD_BYTES) == 1
    return _padded
