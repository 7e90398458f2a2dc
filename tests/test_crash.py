"""Nothing lost across processes: kill -9 at random moments, a full disk, one writer per run.

These start real `drawart fit` processes; bench/kill_anywhere.py runs the same kill loop longer.
"""

import importlib.util
import os
import random
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from test_cli import TINY, assert_one_line_error, invoke, snapshot

from drawart.fit_plan import plan_fit
from drawart.run import RunDir

ROOT = Path(__file__).resolve().parent.parent


def kill_anywhere_bench(monkeypatch):
    """The bench as a module, importing its helper module (bench/common.py) as it does when run."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("kill_anywhere", ROOT / "bench" / "kill_anywhere.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


STEPS = 120


def test_killed_at_random_moments_the_run_resumes_and_ends_as_if_never_killed(tiny_gray_png, tmp_path, monkeypatch):
    bench = kill_anywhere_bench(monkeypatch)
    # A checkpoint every 3 steps, one step per call: much of the time is spent writing checkpoints.
    # One SIGKILL and one SIGINT (Ctrl-C), in random order at random moments once training runs.
    killed = tmp_path / "run"
    report = bench.kill_anywhere(
        tiny_gray_png,
        killed,
        steps=STEPS,
        every=3,
        kills=2,
        rng=random.Random(1),
        window=0.05,
        start_up_share=0.0,
        sigint_share=0.5,
        compare=False,
        log=lambda message: None,
    )
    straight = tmp_path / "never-killed"
    # Each kill that landed was checked by the bench; a life that failed by itself fails the bench.
    # (Ctrl-C at a random moment has its own test in test_cli.py.)
    assert report.kills >= 1 and set(report.by_signal) <= {"SIGINT", "SIGKILL"}
    assert max(report.lost) < 3
    assert report.final_step == STEPS
    # The same run never killed (in this process, to save a start-up) ends with the same weights.
    never = invoke(*bench.fit_command(tiny_gray_png, straight, STEPS, 3, False, 1, TINY)[3:])  # no "python -m"
    assert never.exit_code == 0, never.output
    assert bench.same_weights(killed, straight, STEPS)


def fit_process(*args, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, "-m", "drawart.cli", "fit", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, **kwargs)


def test_a_full_disk_stops_with_one_line_and_keeps_the_last_checkpoint(tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    fit = ["fit", tiny_gray_png, "--out", run, *TINY, "--no-xla", "--checkpoint-every", "2"]
    assert invoke(*fit, "--steps", "4").exit_code == 0
    before = snapshot(run / "checkpoints")
    data_size = (run / "checkpoints" / "step-0000004" / "ckpt.data-00000-of-00001").stat().st_size

    def small_disk():
        # A real failed write, through TensorFlow's own file layer: no file may grow to a
        # checkpoint's size (Python ignores SIGXFSZ, so the write fails with EFBIG instead).
        resource.setrlimit(resource.RLIMIT_FSIZE, (data_size // 2, resource.RLIM_INFINITY))

    done = fit_process(*fit[1:], "--steps", "8", preexec_fn=small_disk)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: cannot write the checkpoint at step 6 in {run / 'checkpoints'} (File too large)")
    assert line.endswith("rerun the same command to resume from step 4")
    assert sum(line.startswith("error") for line in done.stderr.splitlines()) == 1
    assert snapshot(run / "checkpoints") == before


def test_a_second_fit_is_refused_while_a_live_process_holds_the_run(tiny_gray_png, tmp_path):
    run = tmp_path / "run"
    tiny = {"glimpses": 3, "hidden": 8, "z": 3, "read_n": 2, "write_n": 3}
    plan = plan_fit(tiny_gray_png, run, size=9, model=tiny)
    plan.run.create(plan.config)
    holder_code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from drawart.lock import RunLock
        with RunLock(Path({str(run / "lock")!r})):
            print("locked", flush=True)
            sys.stdin.read()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run)
        refused = invoke("fit", tiny_gray_png, "--out", run, *TINY, "--steps", "2", "--no-xla")
        assert_one_line_error(refused, f"is being trained by process {holder.pid}", "wait for it or stop it")
        assert snapshot(run) == before
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: what a crash leaves behind
        holder.wait(timeout=60)
    assert (run / "lock").read_text() == str(holder.pid)  # the stale owner is still named there
    result = invoke("fit", tiny_gray_png, "--out", run, *TINY, "--steps", "2", "--no-xla")
    assert result.exit_code == 0, result.output
    assert RunDir(run).latest_checkpoint()[0] == 2
