"""How the shipped runs of earlier releases were recorded, kept as a record. Each was made once, with
that release's own code; the test holds later releases to what it drew (tests/test_legacy_run.py).

drawart 0.1.0 (commit a95a85d; recorded by this script's first version, record_run_0_1_0.py):

    drawart fit chelsea-24.png --out run --size 12 --glimpses 4 --read-n 2 --write-n 3 --hidden 8 \
        --z 3 --steps 60 --checkpoint-every 30 --gif-every 30 --steps-per-call 10 --seed 3
    cp -r run resumed && drawart fit chelsea-24.png --out resumed --steps 70 -q
    python record_run.py 0.1.0 run resumed   # writes run-0.1.0-expected.npz

drawart 0.2.0 (commit c7cdfdb): the same, but with local windows as 0.2.0 drew them (no taper):

    drawart fit chelsea-24.png --out run --size 12 --glimpses 6 --block-in 2 --read-n 2 --write-n 3 \
        --hidden 8 --z 3 --steps 60 --checkpoint-every 30 --gif-every 30 --steps-per-call 10 --seed 3
    cp -r run resumed && drawart fit chelsea-24.png --out resumed --steps 70 -q
    python record_run.py 0.2.0 run resumed   # writes run-0.2.0-expected.npz

drawart 0.4.0 (commit 732c96b) and 0.5.0 (commit 1f51e7d): the same command with each release's
defaults, so 6 glimpses get a block-in and a taper of one each, and both draw from the moving
average (0.99); 0.5.0 confines its write windows. Each release's code was put first on the path
with its own metadata, so config.json records the release that wrote it (`pip install --no-deps
--target SITE` of that commit, then PYTHONPATH=SITE):

    drawart fit chelsea-24.png --out run --size 12 --glimpses 6 --read-n 2 --write-n 3 --hidden 8 \
        --z 3 --steps 60 --checkpoint-every 30 --gif-every 30 --steps-per-call 10 --seed 3 -q
    cp -r run resumed && drawart fit chelsea-24.png --out resumed --steps 70 -q
    python record_run.py 0.4.0 run resumed   # and 0.5.0

drawart 0.6.0 (commit 1b60034), whose confined write windows keep at least half their bound and a
log γ within ±0.5: the same two commands with the code of that commit (its config.json records
0.6.0 itself), then `python record_run.py 0.6.0 run resumed`.

drawart 0.7.0 (commit 1738b21), whose confined write windows keep at least a tenth of their bound
(0.5.0's floor) and a log γ within ±0.5 (0.6.0's range): the same, `python record_run.py 0.7.0 run
resumed`.

drawart 0.8.0 (commit f91e42c), whose windows learn at a third of the network's rate: the same,
`python record_run.py 0.8.0 run resumed`.

drawart 0.10.0, with a window margin and a canvas loss, as a run above 64 px gets them (the CLI has
no option for them, and a 12-px run would get neither), through the Python API:

    python -c 'from drawart import api; from drawart.fit_plan import plan_fit; api.fit(plan_fit(
        "chelsea-24.png", "run", size=12, model={"glimpses": 6, "read_n": 2, "write_n": 3, "hidden": 8,
        "z": 3, "window_margin": 0.01, "canvas_loss": 1.0}, train={"steps": 60, "checkpoint_every": 30,
        "gif_every": 30, "steps_per_call": 10, "seed": 3}), progress=None)'
    cp -r run resumed && drawart fit chelsea-24.png --out resumed --steps 70 -q
    python record_run.py 0.10.0 run resumed

chelsea-24.png is examples/chelsea.png (CC0) resized to 24×16. run-VERSION/ keeps the run's config,
image, newest checkpoint, milestones and metrics. run-VERSION-expected.npz holds what that release
drew from these weights (noise seed 0): every canvas, the raw window parameters, the boxes drawn on
the frames, and the frames themselves (the release's default render, upscaled 4×), for each
milestone and the newest checkpoint; and the canvases of the run resumed by it to step 70.
"""

import sys
from pathlib import Path

import numpy as np

from drawart import drawing, train
from drawart.config import RenderConfig
from drawart.run import RunDir

version, run, resumed = sys.argv[1], RunDir(Path(sys.argv[2])), RunDir(Path(sys.argv[3]))
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
    expected[f"{name}/read_boxes"] = drawing.windows(traced["read"], cfg.read_n, model, 1.0, "read")
    expected[f"{name}/write_boxes"] = drawing.windows(traced["write"], cfg.write_n, model, 1.0, "write")
    expected[f"{name}/frames"] = drawing.reconstruction_frames(model, pixels, options)


record(f"checkpoint-{latest}")
for step, restore in train.milestone_weights(run, model):
    restore()
    record(f"milestone-{step}")
model, step = train.load_model(resumed)
expected[f"resumed-{step}/canvases"] = model.trace(pixels, seed=0)["canvases"]
np.savez_compressed(Path(__file__).parent / f"run-{version}-expected.npz", **expected)
print(sorted(expected))
