"""A quiet start: TensorFlow's C++ start-up lines stay off stderr unless DRAWART_TF_LOGS=1, and
every other line written while TensorFlow starts still reaches the user."""

import json
import os
import re
import shutil
import subprocess
import sys

from drawart import tflogs

# Lines as TensorFlow 2.21 writes them on a machine without a GPU (see tflogs.py).
CHATTER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795469331.361505    9826 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.",
    "I0000 00:00:1795469331.361826    9826 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.",
    "I0000 00:00:1795469678.519809   12964 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.",
    "E0000 00:00:1795469338.288191    9826 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
]
TF_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog", re.M)


def test_start_up_chatter_is_dropped_and_every_other_line_passes(capfd):
    real = [
        "E0000 00:00:1795469338.288191    9826 some_kernel.cc:12] Out of memory while allocating 12 GiB",
        "W0000 00:00:1795469338.288191    9826 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
        "Traceback (most recent call last):",
    ]
    with tflogs.filtered_stderr():
        for line in CHATTER[:3] + real[:2] + CHATTER[3:]:
            os.write(2, (line + "\n").encode())  # as C++ writes: straight to the file descriptor
        # Python's own stderr, which writes to fd 2. (capfd's sys.stderr writes to its capture file
        # directly, at an offset of its own, so it would neither pass the filter nor keep the order.)
        print(real[2], file=sys.__stderr__, flush=True)
    err = capfd.readouterr().err
    assert sorted(err.splitlines()) == sorted(real)  # Python's and C's writes may interleave either way
    os.write(2, (CHATTER[1] + "\n").encode())  # after the block, nothing is filtered
    assert capfd.readouterr().err == CHATTER[1] + "\n"


def test_a_real_command_starts_quietly_and_shows_tensorflows_lines_when_asked(tmp_path, repo_root):
    run = tmp_path / "run"
    shutil.copytree(repo_root / "tests" / "data" / "run-0.1.0", run)  # a run made by drawart 0.1.0
    command = [sys.executable, "-m", "drawart.cli", "export", str(run), "--step", "30", "-o", "-"]
    environment = {k: v for k, v in os.environ.items() if k not in (tflogs.OPT_IN, "TF_CPP_MIN_LOG_LEVEL")}
    environment["PYTHONPATH"] = str(repo_root) + os.pathsep + environment.get("PYTHONPATH", "")
    # Both at once: each spends its seconds importing TensorFlow.
    quiet = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loud = subprocess.Popen(
        command, env={**environment, tflogs.OPT_IN: "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    (out, err), (loud_out, loud_err) = quiet.communicate(timeout=300), loud.communicate(timeout=300)
    assert quiet.returncode == 0 and loud.returncode == 0, err + loud_err
    assert err == ""  # not one line: TensorFlow started, and said nothing
    assert TF_LINE.search(loud_err), loud_err  # asked for: TensorFlow's own lines are there
    strokes = json.loads(out)
    assert strokes == json.loads(loud_out) and strokes["step"] == 30 and strokes["window"] == "paper"
