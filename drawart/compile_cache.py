"""XLA's compiled code kept between launches, and how long compiling took on this machine.

Compiling the training step takes tens of seconds, at every launch, resumes included. TensorFlow
can keep what XLA compiled in a folder (`--tf_xla_persistent_cache_directory`), and a launch that
compiles the same step again reads it back instead: on 2 cores the default model's launch to its
first 50 steps went from 30.8 s to 17.2 s (docs/speed.md). drawart points it at the user's cache,
`$XDG_CACHE_HOME/drawart/xla` (~/.cache/drawart/xla), unless `DRAWART_XLA_CACHE` names another
folder or is 0, or TF_XLA_FLAGS already names one. Each model shape adds a few MB there; deleting
the folder only costs the next launch its compile. Must run before TensorFlow is imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from drawart.atomic import atomic_write_bytes

FLAG = "--tf_xla_persistent_cache_directory"
SETTING = "DRAWART_XLA_CACHE"
TIMES = "compile-seconds.json"  # beside the compiled code: {step's key: seconds the last compile took}
# The step is traced with TensorFlow's process-wide unique-name counter at a multiple of this.
NAME_STRIDE = 1 << 16


def folder() -> Path | None:
    """Where compiled code is kept, or None when the user turned it off."""
    given = os.environ.get(SETTING, "").strip()
    if given.lower() in ("0", "false", "no", "off"):
        return None
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "drawart" / "xla"


def enable() -> None:
    """Point XLA's persistent cache at `folder()`, unless TF_XLA_FLAGS names one already or the
    folder cannot be made (then every launch compiles, as without it)."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    where = folder()
    if FLAG in flags or where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    os.environ["TF_XLA_FLAGS"] = f"{flags} {FLAG}={where}".strip()


def last_seconds(key: str) -> float | None:
    """How long compiling the step `key` took the last time on this machine, if known."""
    where = folder()
    try:
        return float(json.loads((where / TIMES).read_text(encoding="utf-8"))[key])
    except (TypeError, OSError, ValueError, KeyError):
        return None


def record_seconds(key: str, seconds: float) -> None:
    """Remember how long compiling `key` took (best effort: a cache that cannot be written is skipped)."""
    where = folder()
    if where is None:
        return
    try:
        times = json.loads((where / TIMES).read_text(encoding="utf-8"))
        times = times if isinstance(times, dict) else {}
    except (OSError, ValueError):
        times = {}
    times[key] = round(seconds, 1)
    try:
        where.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(where / TIMES, json.dumps(times, sort_keys=True).encode("utf-8"))
    except OSError:
        pass


def traced_alike(function):
    """`function` (a model's train function), whose first call first moves TensorFlow's unique-name
    counter to the next multiple of NAME_STRIDE.

    XLA's cache finds a compiled step by its HLO, and the HLO carries the names TensorFlow gave the
    step's functions and loops, numbered by that counter. A resume restores a checkpoint before
    the first call, which takes numbers a new run does not, so it traced the same step under other
    names and compiled it again. Started from one round number, both trace the same names."""
    state = {"first": True}

    def call(*args, **kwargs):
        if state["first"]:
            state["first"] = False
            round_unique_names()
        return function(*args, **kwargs)

    return call


def round_unique_names() -> None:
    """Take numbers from TensorFlow's unique-name counter up to the next multiple of NAME_STRIDE
    (a no-op where this TensorFlow keeps the counter elsewhere)."""
    try:
        from tensorflow.python.framework.ops import uid
    except ImportError:
        return
    for _ in range(-(uid() + 1) % NAME_STRIDE):  # the next number taken is the multiple
        uid()
