"""How tests/data/run-0.1.0 was made, kept as a record: run once with drawart 0.1.0 (commit a95a85d).

    drawart fit chelsea-24.png --out run --size 12 --glimpses 4 --read-n 2 --write-n 3 --hidden 8 \
        --z 3 --steps 60 --checkpoint-every 30 --gif-every 30 --steps-per-call 10 --seed 3
    cp -r run resumed && drawart fit chelsea-24.png --out resumed --steps 70 -q
    python record_run_0_1_0.py run resumed   # writes run-0.1.0-expected.npz

chelsea-24.png is examples/chelsea.png (CC0) resized to 24×16. run-0.1.0/ keeps the run's config,
image, newest checkpoint, milestones and metrics. run-0.1.0-expected.npz holds what 0.1.0 drew
from these weights (noise seed 0): every canvas, the raw window parameters, the boxes drawn on the
frames, and the frames themselves, for each milestone and the newest checkpoint; and the canvases
of the run resumed by 0.1.0 to step 70. Later releases must draw the same (tests/test_legacy_run.py).
"""

import sys
from pathlib import Path

import numpy as np

from drawart import drawing, train
from drawart.config import RenderConfig
from drawart.run import RunDir

run = RunDir(Path(sys.argv[1]))
model, latest = train.load_model(run)
pixels = run.load_image()
options = RenderConfig(scale=4)
expected = {}


def record(name):
    traced = model.trace(pixels, seed=0)
    cfg = model.config
    expected[f"{name}/canvases"] = traced["canvases"]
    expected[f"{name}/read"] = traced["read"]
    expected[f"{name}/write"] = traced["write"]
    expected[f"{name}/read_boxes"] = drawing.windows(traced["read"], cfg.read_n, model, 1.0)
    expected[f"{name}/write_boxes"] = drawing.windows(traced["write"], cfg.write_n, model, 1.0)
    expected[f"{name}/frames"] = drawing.reconstruction_frames(model, pixels, options)


record(f"checkpoint-{latest}")
for step, restore in train.milestone_weights(run, model):
    restore()
    record(f"milestone-{step}")
resumed = RunDir(Path(sys.argv[2]))
model, step = train.load_model(resumed)
expected[f"resumed-{step}/canvases"] = model.trace(pixels, seed=0)["canvases"]
np.savez_compressed(Path(__file__).parent / "run-0.1.0-expected.npz", **expected)
print(sorted(expected))
