"""The C heap's pad: set before TensorFlow starts, and keeping a thread's freed memory (heap.py).

Each test runs in a fresh Python, since the pad is set once per process."""

import os
import subprocess
import sys
import textwrap

import pytest

glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the pad is glibc's (Linux)")

# A thread allocates 2 MiB in blocks under malloc's mmap threshold, writes them and frees them, 50
# times: the pattern of XLA's buffers around each operation. Prints whether the pad was set and the
# thread's minor page faults.
CHURN = """
import ctypes, resource, threading
from drawart import heap
padded = heap.widen_pad()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
faults = []
def churn():
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(50):
        blocks = [libc.malloc(64 * 1024) for _ in range(32)]
        for block in blocks:
            ctypes.memset(block, 1, 64 * 1024)
        for block in reversed(blocks):
            libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
thread = threading.Thread(target=churn)
thread.start()
thread.join()
print(padded, faults[0])
"""


def run_python(code: str, **env) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return out.stdout.split()


@glibc_only
def test_the_pad_keeps_a_threads_freed_memory_off_the_page_faults():
    padded, faults_padded = run_python(CHURN, DRAWART_HEAP_PAD="")
    unpadded, faults_unpadded = run_python(CHURN, DRAWART_HEAP_PAD="0")
    assert (padded, unpadded) == ("True", "False")
    # Without the pad every one of the 50 rounds faults its 2 MiB in again (about 500 pages of 4 KiB,
    # or one huge page); with it, the memory is faulted in about once.
    assert int(faults_unpadded) >= 50
    assert int(faults_padded) < int(faults_unpadded) / 10


@glibc_only
def test_start_tensorflow_widens_the_pad_before_tensorflow_is_imported():
    code = """
    import importlib.abc, sys
    from drawart import heap
    seen = []
    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "tensorflow" and not seen:
                seen.append(heap._padded)
    sys.meta_path.insert(0, Watch())
    from drawart.tflogs import start_tensorflow
    start_tensorflow()
    print(seen)
    """
    assert run_python(code, DRAWART_HEAP_PAD="") == ["[True]"]
