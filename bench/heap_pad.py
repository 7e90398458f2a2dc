"""What the C heap's pad (drawart/heap.py) does to training speed through the real `drawart fit`,
and what cropped writes do with it.

Each row trains the default model on a photo (as `drawart fit PHOTO --size S --batch B` builds
it) for `--steps` steps, each run in a fresh Python, one after the other: with glibc's default pad
(DRAWART_HEAP_PAD=0) and drawart's, every write over the whole image, and with drawart's pad and
every bounded write made through a crop (DrawModel.crop_writes forced, whatever the size and
batch). It prints steps a second (the first call's compiling left out) and the ratios.

    python bench/heap_pad.py [--photo camera] [--size 64] [--batches 1 2 4] [--steps 600]
"""

import argparse
import os
import sys
from dataclasses import replace

from common import check_photos, child_rows, fit_rate, photo_path, planned


def child(photo: str, size: int, batch: int, steps: int, cropped: bool) -> None:
    """Print this process's rate as one JSON line (the pad is set, or not, by common's import)."""
    import json

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from drawart import heap, model

    # `fit` builds its own model: force its crop_writes where the rule reads it.
    rule = model.DrawModel.cropped_from

    def forced(self, batch=1):
        self.crop_writes = cropped
        return rule(self, batch)

    model.DrawModel.cropped_from = forced
    pixels, config = planned(photo_path(photo), size, batch)
    config = replace(config, train=replace(config.train, steps=steps, gif_every=0))
    rate, _ = fit_rate(pixels, config)
    print(json.dumps({"it_per_s": rate, "padded": heap.widen_pad()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="camera")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        photo, size, batch, steps, cropped = args.child
        return child(photo, int(size), int(batch), int(steps), cropped == "cropped")
    check_photos(parser, [args.photo])
    print(f"{args.photo} at {args.size} px, `drawart fit`'s default model, steps a second ({args.steps} steps a run)")
    print("  batch   glibc's pad   drawart's pad   cropped   pad/glibc   whole/cropped")
    for batch in args.batches:
        rates = []
        for pad, cropped in (("0", "whole"), ("", "whole"), ("", "cropped")):
            os.environ["DRAWART_HEAP_PAD"] = pad
            (row,) = child_rows(__file__, [args.photo, args.size, batch, args.steps, cropped], f"batch {batch}")
            assert row["padded"] == (pad == ""), "the pad was not set as asked (not Linux with glibc?)"
            rates.append(row["it_per_s"])
        glibc, padded, crops = rates
        print(
            f"  {batch:5d}   {glibc:8.1f}      {padded:8.1f}    {crops:8.1f}    {padded / glibc:5.2f}x      "
            f"{padded / crops:5.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
