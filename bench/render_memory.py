"""Peak memory and time of `drawart gif RUN --render-size 1024` on a 256-px run.

Trains (once, then reuses) chelsea.png at 256 px for a few hundred steps, then renders its
milestone in a fresh process per format and prints that process's peak resident memory
(getrusage ru_maxrss: TensorFlow, the model and the render together), its seconds and the file's
size. The floor line is a process that only imports TensorFlow and loads the model: what no
render can go below.

    python bench/render_memory.py [--run outputs/bench-chelsea-256] [--formats gif webp]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from common import ROOT

# Runs in the child: the CLI in-process, then its own peak memory. ru_maxrss is in KiB on Linux.
MEASURE = """
import json, resource, sys, time

start = time.perf_counter()
args = json.loads(sys.argv[1])
if args == ["floor"]:
    from drawart import train
    from drawart.run import RunDir
    from pathlib import Path
    train.load_model(RunDir(Path(sys.argv[2])))
    code = 0
else:
    from drawart.cli import cli
    try:
        cli.main(args, prog_name="drawart")
    except SystemExit as exit:
        code = exit.code
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "seconds": seconds, "peak_mib": peak}))
"""


def measure(args: list[str], run: Path) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(args), str(run)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    if out.returncode != 0:
        sys.exit(f"measurement failed: {out.stderr.strip().splitlines()[-1:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["code"] not in (0, None):
        sys.exit(f"drawart {' '.join(args)} exited {result['code']}: {out.stderr.strip()}")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "outputs" / "bench-chelsea-256")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--render-size", type=int, default=1024)
    parser.add_argument("--formats", nargs="+", default=["gif"])
    args = parser.parse_args()
    if not (args.run / "milestones").is_dir():
        fit = [
            sys.executable,
            "-m",
            "drawart.cli",
            "fit",
            str(ROOT / "examples" / "chelsea.png"),
            "--out",
            str(args.run),
            "--size",
            "256",
            "--steps",
            str(args.steps),
            "--gif-every",
            str(args.steps),
            "-q",
        ]
        subprocess.run(fit, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    step = max(int(p.name.split("-")[1]) for p in (args.run / "milestones").glob("step-*"))
    floor = measure(["floor"], args.run)
    print(f"floor (TensorFlow + the model, no render): peak {floor['peak_mib']:6.0f} MiB  {floor['seconds']:5.1f} s")
    for fmt in args.formats:
        command = [
            "gif",
            str(args.run),
            "--every",
            str(step),
            "--render-size",
            str(args.render_size),
            "--format",
            fmt,
            "--force",
        ]
        result = measure(command, args.run)
        made = max((args.run / "gifs").glob("*"), key=os.path.getmtime)  # the file just written
        print(
            f"drawart {' '.join(command[:1] + command[2:])}: peak {result['peak_mib']:6.0f} MiB  "
            f"{result['seconds']:5.1f} s  {made.stat().st_size / 2**20:.2f} MiB ({made.name})"
        )


if __name__ == "__main__":
    main()
