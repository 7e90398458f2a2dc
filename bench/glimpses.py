"""What each glimpse adds: PSNR of the reconstruction after every glimpse, at each milestone of a run.

A run can settle where a few block-in glimpses paint the whole picture and every later glimpse
writes nothing: its PSNR then stops at what those few can hold. This prints, for each milestone
(the drawing's weights) and the newest checkpoint, the PSNR after glimpses 1..T (fixed noise,
seed 0), how many glimpses changed it by at least 0.05 dB, and the median write intensity log γ
of the glimpses after the block-in and taper (the local write divides by γ: a large γ writes
almost nothing). For local windows it also prints each glimpse's write window side, as a share of
the image's longest side, and its log γ: a glimpse pushed to its confined limits (a side at
`window_floor` of its bound, log γ at `gamma_range`) adds little. The write and read windows'
centres follow, as shares of the image's width and height (outside 0..1: off the image).

The parked windows of docs/every-glimpse.md (0.7.0, coins at 256 px):

    drawart fit ../shared/data/coins.png --size 256 --steps 1000 --gif-every 1000 --out outputs/coins-256
    python bench/glimpses.py outputs/coins-256

    python bench/glimpses.py RUN [--every N]
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--every", type=int, default=None, help="only milestones at multiples of N steps")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from drawart import strokes, train
    from drawart.errors import RunError
    from drawart.run import RunDir

    run = RunDir(args.run)
    try:
        model, latest = train.load_model(run)
    except RunError as error:
        sys.exit(f"{args.run}: {error}")
    pixels = run.load_image()
    cfg = model.config
    local_from = cfg.block_in + cfg.taper if cfg.window == "local" else 0

    def report(step) -> str:
        measured = strokes.measure(model, pixels)
        lines = [
            f"step {step:7d}  {measured.psnr:6.2f} dB  glimpses changing it {measured.adding():2d}/{cfg.glimpses}  "
            f"median local log γ {float(np.median(measured.log_gamma[local_from:])):6.2f}",
            "    after each glimpse: " + " ".join(f"{p:.1f}" for p in measured.progress[1:]),
        ]
        if cfg.window == "local":
            lines += [
                "    write window side:  " + " ".join(f"{s:.2f}" for s in measured.side),
                "    write log γ:        " + " ".join(f"{g:.1f}" for g in measured.log_gamma),
            ]
        traced, t = model.trace(pixels), np.arange(cfg.glimpses)[:, None]
        for head, layer in (("write", model.writer), ("read", model.reader)):
            window = layer.filterbank.window(traced[head], t)
            x, y = ((np.asarray(g)[:, 0] + 0.5) / size for g, size in ((window.gx, cfg.width), (window.gy, cfg.height)))
            lines.append(f"    {head} centre (x, y): " + " ".join(f"{a:.2f},{b:.2f}" for a, b in zip(x, y)))
        return "\n".join(lines)

    newest = report(latest)  # before a milestone's weights replace the checkpoint's
    for step, restore in train.milestone_weights(run, model, args.every):
        if step != latest:  # a milestone at the newest step holds the same drawing weights
            restore()
            print(report(step))
    print(newest)


if __name__ == "__main__":
    main()
