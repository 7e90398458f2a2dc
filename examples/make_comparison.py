"""One GIF of two runs drawing the same photo side by side, glimpse by glimpse, with their write
windows: the paper's window on the left, local windows on the right (see README, Windows).

    python examples/make_comparison.py outputs/chelsea-paper outputs/chelsea-local examples/chelsea-windows.gif

Both runs must have the same number of glimpses. Each is drawn at 192 px with the default render
options: smooth strokes, the read window green and the write window red.
"""

import sys
from pathlib import Path

import numpy as np

from drawart import tflogs

tflogs.start_tensorflow()  # before anything imports TensorFlow: no start-up chatter
from drawart import drawing, train  # noqa: E402
from drawart.config import RenderConfig  # noqa: E402
from drawart.run import RunDir  # noqa: E402

GAP = 8  # white pixels between the two drawings


def frames_of(path: Path, options: RenderConfig) -> np.ndarray:
    run = RunDir(path)
    model, _ = train.load_model(run)
    return drawing.reconstruction_frames(model, run.load_image(), options)


def main():
    left, right, out = (Path(arg) for arg in sys.argv[1:4])
    options = RenderConfig(render_size=192, scale=1)
    pair = [frames_of(path, options) for path in (left, right)]
    if len(pair[0]) != len(pair[1]):
        sys.exit(
            f"error: {left} draws {len(pair[0]) - 1} glimpses and {right} {len(pair[1]) - 1}: train both with the same --glimpses"
        )
    height = max(frames.shape[1] for frames in pair)
    pair = [np.pad(f, ((0, 0), (0, height - f.shape[1]), (0, 0), (0, 0)), constant_values=255) for f in pair]
    gap = np.full((len(pair[0]), height, GAP, pair[0].shape[-1]), 255, np.uint8)
    out.write_bytes(drawing.encode(np.concatenate([pair[0], gap, pair[1]], axis=2), "gif", options))
    print(f"wrote {out}: {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
