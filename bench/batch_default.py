"""Which `--batch` draws best per minute, on every photo: PSNR by step, then at equal minutes.

The default is chosen by what wins per minute of training, and a default is checked on all of
../shared/data. Timing eleven photos at several batch sizes needs hours of an idle machine, so the
two things a minute of training buys are measured apart:

1. PSNR by step (`--save FILE`): each photo at each batch trains through the real
   `drawart.train.fit` (every other option at its default for the size) and is measured at its
   step marks, as bench/every_photo.py does: the moving average's reconstruction with the noise of
   seed 0, as `drawart gif` draws it. Steps do not depend on the clock, so this part may share the
   machine (and may be paused and resumed with SIGSTOP/SIGCONT).
2. Steps a minute (`--load FILE`, on an idle machine): `fit`'s rate for each distinct image shape
   and batch, in a fresh Python each, the first call's compiling left out (bench/common.fit_rate),
   kept in FILE for the next `--load` (`--new-rates` measures them again).

It then prints, per photo, the PSNR each batch reaches after the same minutes of training
(interpolated in log steps between marks; "-" outside a batch's marks), the lead of the best over
batch 1, and how many photos each batch wins (photos with every batch inside its marks).

    python bench/batch_default.py --size 64 --marks 1=1000,2000,4000,6000 2=700,1400,2800,4200 --save outputs/batch-64.json --sheets outputs/batch-sheets
    python bench/batch_default.py --size 64 --load outputs/batch-64.json --minutes 0.5 1 1.5

    python bench/batch_default.py [--size S] [--marks K=STEP,...] [--photos NAME ...] [--save F [--sheets DIR] | --load F] [--minutes M ...]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from common import DATA, child_rows, every_photo, fit_rate, photo_path, planned

EVERY_PHOTO = str(Path(__file__).with_name("every_photo.py"))


def parse_marks(text: str) -> tuple[int, list[int]]:
    """'2=700,1400' -> (2, [700, 1400])."""
    batch, _, steps = text.partition("=")
    return int(batch), sorted({int(s) for s in steps.split(",")})


def rate_child(photo: Path, size: int, batch: int, steps: int) -> None:
    """Print `fit`'s steps a second for one photo, size and batch as one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dataclasses import replace

    pixels, config = planned(photo, size, batch)
    config = replace(config, train=replace(config.train, steps=steps, gif_every=0, checkpoint_every=steps))
    rate, _ = fit_rate(pixels, config)
    print(json.dumps({"rate": rate}), flush=True)


def shape_of(photo: Path, size: int) -> tuple:
    return tuple(planned(photo, size, 1)[0].shape)


def psnr_at(rows: list[dict], step: float) -> float | None:
    """PSNR at `step`, linear in log(step) between the two marks around it; None outside them."""
    marks = [(r["step"], r["psnr"]) for r in rows]
    for (s0, p0), (s1, p1) in zip(marks, marks[1:]):
        if s0 <= step <= s1:
            return p0 + (p1 - p0) * (math.log(step) - math.log(s0)) / (math.log(s1) - math.log(s0))
    return next((p for s, p in marks if s == round(step)), None)


def measure_steps(names: list[str], size: int, marks: dict[int, list[int]], save: Path, sheets: str | None) -> dict:
    """PSNR by step for every photo and batch, saved to `save` after each run (a rerun resumes);
    with `sheets`, each run's contact sheet at its last mark in SHEETS/batch-K/ (every_photo.py)."""
    done = json.loads(save.read_text()) if save.exists() else {"size": size, "rows": {}}
    for name in names:
        for batch, steps in marks.items():
            key = f"{name} {batch}"
            if key in done["rows"]:
                continue
            started = time.monotonic()
            rows = child_rows(
                EVERY_PHOTO,
                [photo_path(name), "--size", size, "--marks", *steps, "--set", json.dumps({"batch": batch})]
                + (["--sheets", f"{sheets}/batch-{batch}"] if sheets else []),
                f"{name} at batch {batch}",
            )
            done["rows"][key] = [{"step": r["step"], "psnr": r["psnr"]} for r in rows]
            save.write_text(json.dumps(done, indent=1))
            cells = " ".join(f"{r['step']}:{r['psnr']:.2f}" for r in rows)
            print(f"{name:10s} batch {batch}  {cells}   ({(time.monotonic() - started) / 60:.1f} min)", flush=True)
    return done


def measure_rates(names: list[str], size: int, batches: list[int], steps: int) -> dict:
    """Steps a second by (photo, batch), one `fit` per distinct image shape and batch."""
    by_shape, rates = {}, {}
    for name in names:
        shape = shape_of(photo_path(name), size)
        for batch in batches:
            if (shape, batch) not in by_shape:
                (row,) = child_rows(__file__, [photo_path(name), size, batch, steps], f"rate of {name}")
                by_shape[shape, batch] = row["rate"]
                print(f"rate {'x'.join(map(str, shape)):12s} batch {batch}: {row['rate']:.1f} steps/s", flush=True)
            rates[name, batch] = by_shape[shape, batch]
    return rates


def compare(names: list[str], rows: dict, rates: dict, batches: list[int], minutes: list[float]) -> None:
    print(
        "PSNR (dB) after the same minutes of training (compiling and start-up left out): steps = rate x time, "
        "PSNR interpolated in log steps between marks"
    )
    print(f"{'photo':10s}{'min':>5s}" + "".join(f"{f'batch {k}':>16s}" for k in batches) + f"{'best':>8s}{'lead':>7s}")
    wins, gaps = {}, {}
    for at in minutes:
        for name in names:
            got = {}
            cells = ""
            for k in batches:
                steps = rates[name, k] * 60 * at
                value = psnr_at(rows[f"{name} {k}"], steps)
                if value is not None:
                    got[k] = value
                cells += f"{value:8.2f} ({steps:5.0f})" if value is not None else f"{'-':>8s}{'':8s}"
            best = max(got, key=got.get) if len(got) == len(batches) else None
            if best is not None:
                wins.setdefault(at, {}).setdefault(best, 0)
                wins[at][best] += 1
                for k in batches[1:]:
                    gaps.setdefault((at, k), []).append(got[k] - got[batches[0]])
            tail = f"{best:8d}{got[best] - got[batches[0]]:+7.2f}" if best is not None else ""
            print(f"{name:10s}{at:5g}{cells}{tail}", flush=True)
    for at, count in wins.items():
        print(
            f"after {at:g} min, photos won: "
            + ", ".join(f"batch {k} {count.get(k, 0)}" for k in batches)
            + "; against batch 1, median "
            + ", ".join(f"batch {k} {statistics.median(gaps[at, k]):+.2f} dB" for k in batches[1:])
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="longest side in pixels, as drawart fit --size")
    parser.add_argument(
        "--marks",
        type=parse_marks,
        nargs="+",
        default=[parse_marks("1=1000,2000,4000,6000"), parse_marks("2=700,1400,2800,4200")],
        help="per batch, the steps at which to measure: 1=1000,2000 2=700,1400",
    )
    parser.add_argument("--photos", nargs="+", help="names in ../shared/data or paths to image files (default: all)")
    parser.add_argument("--save", type=Path, help="measure PSNR by step and keep it in this JSON file")
    parser.add_argument("--load", type=Path, help="PSNR by step from this file; measure the rates and compare")
    parser.add_argument("--sheets", help="with --save: a folder for each run's contact sheet at its last mark")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0], help="training minutes to compare at")
    parser.add_argument("--new-rates", action="store_true", help="with --load: measure the rates again")
    parser.add_argument("--rates-from", type=Path, help="with --load: the rates kept in another file of the same size")
    parser.add_argument("--rate-steps", type=int, default=400, help="steps of each rate measurement")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        photo, size, batch, steps = args.child
        rate_child(Path(photo), int(size), int(batch), int(steps))
        return
    names = args.photos or every_photo()
    if not names or any(photo_path(n) is None for n in names) or not (args.save or args.load):
        parser.error(f"give --save or --load, and photos in {DATA} (or paths to image files)")
    if args.save:
        marks = dict(args.marks)
        print(f"--size {args.size}; {os.cpu_count()} cores; PSNR (dB) by step, noise of seed 0", file=sys.stderr)
        measure_steps(names, args.size, marks, args.save, args.sheets)
        return
    saved = json.loads(args.load.read_text())
    batches = sorted({int(key.split()[1]) for key in saved["rows"]})
    names = [n for n in names if all(f"{n} {k}" in saved["rows"] for k in batches)]
    print(f"--size {saved['size']}; {os.cpu_count()} cores; steps a second of `drawart fit`")
    if args.rates_from:
        saved["rates"] = json.loads(args.rates_from.read_text())["rates"]
    if "rates" in saved and not args.new_rates:
        rates = {(key.rsplit(" ", 1)[0], int(key.rsplit(" ", 1)[1])): rate for key, rate in saved["rates"].items()}
        print("steps a second as measured before (--new-rates measures them again):")
        print("  " + ", ".join(f"{name} at {k}: {rate:.1f}" for (name, k), rate in rates.items()))
    else:
        print(f"measured over {args.rate_steps} steps:")
        rates = measure_rates(names, saved["size"], batches, args.rate_steps)
        saved["rates"] = {f"{name} {k}": rate for (name, k), rate in rates.items()}
        args.load.write_text(json.dumps(saved, indent=1))
    compare(names, saved["rows"], rates, batches, args.minutes)


if __name__ == "__main__":
    main()
