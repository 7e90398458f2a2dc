"""Kill `drawart fit` at random moments, restart it, and check that nothing is lost.

    python bench/kill_anywhere.py [--kills 30] [--steps 4000] [--checkpoint-every 5] [--xla]

Each life of the run is a real `drawart fit` process, stopped by SIGKILL (sometimes SIGINT, as
Ctrl-C) at a random moment: during start-up, while training, while a checkpoint is being written.
After every kill, the run directory alone (never stdout) must show:
- every checkpoint passes its checksums, and the one a resume starts from is never older than the
  one before the kill;
- the furthest step in metrics.csv is less than one checkpoint interval ahead of that checkpoint;
- config.json reads and metrics.csv holds whole rows with increasing steps.
At the end the run must reach the requested step with the same weights as a run never killed.
Prints the kills survived, how many hit a checkpoint write, and the steps lost per kill.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT

from drawart.checkpoints import checkpoint_problem, list_checkpoints
from drawart.run import RunDir

TINY = ["--size", "9", "--glimpses", "3", "--hidden", "8", "--z", "3", "--read-n", "2", "--write-n", "3"]


@dataclass
class Report:
    kills: int = 0
    by_signal: dict = field(default_factory=dict)
    at_start_up: int = 0
    during_checkpoint_write: int = 0
    lost: list = field(default_factory=list)  # steps to redo after each kill
    final_step: int = 0
    identical: bool | None = None
    seconds: float = 0.0

    def lines(self, steps: int, every: int) -> list[str]:
        signals = ", ".join(f"{n} {name}" for name, n in sorted(self.by_signal.items()))
        lost = f"mean {statistics.mean(self.lost):.1f}, max {max(self.lost)}" if self.lost else "none"
        return [
            f"kills survived: {self.kills} ({signals}); {self.at_start_up} during start-up, "
            f"{self.during_checkpoint_write} while a checkpoint was being written",
            f"steps lost per kill: {lost} (checkpoint interval {every})",
            f"finished at step {self.final_step} of {steps}; weights identical to a run never killed: "
            f"{'yes' if self.identical else 'NO' if self.identical is False else 'not compared'}",
            f"wall time: {self.seconds:.0f} s",
        ]


def fit_command(image, out, steps: int, every: int, xla: bool, steps_per_call: int, model_args) -> list[str]:
    return [
        sys.executable,
        "-m",
        "drawart.cli",
        "fit",
        str(image),
        "--out",
        str(out),
        *model_args,
        "--steps",
        str(steps),
        "--checkpoint-every",
        str(every),
        "--steps-per-call",
        str(steps_per_call),
        "--xla" if xla else "--no-xla",
    ]


def environment() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def metrics_steps(run: Path) -> list[int]:
    """Steps of the whole rows of metrics.csv, read without trimming anything."""
    path = run / "metrics.csv"
    data = path.read_bytes() if path.exists() else b""
    whole = data[: data.rfind(b"\n") + 1].decode()
    rows = [line.split(",") for line in whole.splitlines()[1:]]
    assert all(len(r) == 6 for r in rows), f"a broken row in {path}"
    return [int(r[0]) for r in rows]


def resume_step(run: Path) -> int:
    """The step a restart will resume from, after checking that no checkpoint is damaged."""
    found = list_checkpoints(run / "checkpoints")
    for _, path in found:
        assert checkpoint_problem(path) is None, f"{path}: {checkpoint_problem(path)}"
    return found[-1][0] if found else 0


def progress(run: Path) -> tuple:
    """What changes on disk as training advances: furthest logged step, checkpoints present."""
    steps = metrics_steps(run) if (run / "metrics.csv").exists() else []
    return (steps[-1] if steps else 0, tuple(s for s, _ in list_checkpoints(run / "checkpoints")))


def check_after_kill(run: Path, every: int, before: int) -> int:
    """Everything a kill must leave true. Returns the step a restart resumes from."""
    if (run / "config.json").exists():
        RunDir(run).read_config()
    steps = metrics_steps(run)
    assert steps == sorted(set(steps)), "metrics.csv has repeated or unordered steps"
    resume = resume_step(run)
    assert resume >= before, f"the resume step went back from {before} to {resume}"
    reached = steps[-1] if steps else 0
    assert reached - resume < every, f"reached step {reached}, resumes from {resume}: more than one interval lost"
    return resume


def kill_anywhere(
    image,
    out: Path,
    steps: int,
    every: int,
    kills: int,
    rng: random.Random,
    xla=False,
    steps_per_call=1,
    model_args=TINY,
    window=1.5,
    start_up_share=0.2,
    sigint_share=0.2,
    compare=True,
    log=print,
) -> Report:
    """Run `drawart fit` into `out`, killing it `kills` times; asserts every check, returns the figures."""
    started = time.monotonic()
    report, env, resume = Report(), environment(), 0
    command = fit_command(image, out, steps, every, xla, steps_per_call, model_args)
    # The mix of kills is fixed by the shares, their order and moments are random.
    start_ups, sigints = round(kills * start_up_share), round(kills * sigint_share)
    plan = ["start-up"] * start_ups + ["SIGINT"] * sigints + ["SIGKILL"] * (kills - start_ups - sigints)
    rng.shuffle(plan)
    for kind in plan:
        at_launch = progress(out)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        at_start_up = kind == "start-up"
        if at_start_up:
            time.sleep(rng.uniform(0, 4.0))
        else:
            while proc.poll() is None and progress(out) == at_launch:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, window))
        if proc.poll() is not None:  # it ended before the kill: finished, or failed on its own
            stderr = proc.stderr.read()
            assert proc.returncode == 0, f"a life ended by itself with exit {proc.returncode}:\n{stderr}"
            break  # that was the last life
        sig = signal.SIGINT if kind == "SIGINT" else signal.SIGKILL
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        if metrics_steps(out)[-1:] == [steps] and resume_step(out) == steps:
            break  # the signal landed after the last step was saved: the run is complete
        if sig == signal.SIGINT:
            last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            assert proc.returncode == 130 and "Traceback" not in stderr, stderr
            assert last.startswith(("interrupted at step", "aborted")), stderr
        report.kills += 1
        report.by_signal[sig.name] = report.by_signal.get(sig.name, 0) + 1
        report.at_start_up += at_start_up
        # save_checkpoint writes into .tmp-step-N-<pid> and renames it in when complete.
        report.during_checkpoint_write += any((out / "checkpoints").glob(f".tmp-step-*-{proc.pid}"))
        resume = check_after_kill(out, every, resume)
        report.lost.append(max(0, (metrics_steps(out) or [0])[-1] - resume))
        log(f"kill {report.kills}: {sig.name}, resumes from step {resume}, lost {report.lost[-1]}")
    last = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert last.returncode == 0, last.stderr
    check_after_kill(out, every, resume)
    report.final_step = resume_step(out)
    assert report.final_step == steps and metrics_steps(out)[-1] == steps
    if compare:
        straight = out.with_name(out.name + "-never-killed")
        command = fit_command(image, straight, steps, every, xla, steps_per_call, model_args)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        report.identical = same_weights(out, straight, steps)
    report.seconds = time.monotonic() - started
    return report


def same_weights(a: Path, b: Path, step: int) -> bool:
    """Whether two runs' checkpoints at `step` hold the same variables, bit for bit (bar wall-clock)."""
    import numpy as np
    import tensorflow as tf

    readers = [tf.train.load_checkpoint(str(run / "checkpoints" / f"step-{step:07d}" / "ckpt")) for run in (a, b)]
    names = [n for n in readers[0].get_variable_to_shape_map() if "seconds" not in n and "OBJECT_GRAPH" not in n]
    return len(names) > 0 and all(np.array_equal(readers[0].get_tensor(n), readers[1].get_tensor(n)) for n in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--checkpoint-every", type=int, default=5)
    parser.add_argument("--steps-per-call", type=int, default=1)
    parser.add_argument("--xla", action="store_true", help="compile with XLA (slower start-up per life)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image", default=str(ROOT / "examples" / "camera.png"))
    args = parser.parse_args()
    model_args = ["--size", "16", "--glimpses", "4", "--hidden", "16", "--z", "4", "--read-n", "3", "--write-n", "4"]
    with tempfile.TemporaryDirectory() as tmp:
        report = kill_anywhere(
            args.image,
            Path(tmp) / "run",
            args.steps,
            args.checkpoint_every,
            args.kills,
            random.Random(args.seed),
            xla=args.xla,
            steps_per_call=args.steps_per_call,
            model_args=model_args,
        )
    print(
        f"kill_anywhere: {args.steps} steps, checkpoint every {args.checkpoint_every}, "
        f"{args.steps_per_call} step(s) per call, {'XLA' if args.xla else 'no XLA'}"
    )
    for line in report.lines(args.steps, args.checkpoint_every):
        print(line)


if __name__ == "__main__":
    main()
