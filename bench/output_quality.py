"""How close the GIF and WebP of a drawing come to its float canvases, and what they cost.

Draws a run's newest checkpoint (default: chelsea.png at 256 px, the run bench/render_memory.py
trains, rendered at --render-size 1024) without boxes, keeps every float canvas σ(c_t), and turns
the uint8 frames into pictures with each candidate. For drawart's GIF and the WebPs the file is
written and decoded; for the other GIF candidates the decoded pixels are the palette entries they
pick (the GIF container does not change them). Per candidate it prints, in 1/255 units:

- mean, max: |decoded − canvas| over every pixel, channel and frame;
- block: the worst |mean of (decoded − canvas)| over an 8×8 block of one channel of one frame,
  what the eye sees from a step back (dither noise cancels inside a block, a band does not);
- band: the banding measure, |blur(decoded) − blur(canvas)| averaged over smooth pixels (a 9×9
  box blur applied twice, roughly a Gaussian of σ 3.7 px). Dither noise averages out under the
  blur; palette contours are steps as wide as the blur and do not. Smooth pixels: the blurred
  gradient of the canvas under 3/255 per pixel (share printed);
- shimmer: the share of pixels whose uint8 colour is the same as in the frame before but whose
  decoded colour is not, over all frames;
- KiB and seconds of encoding.

With --crops DIR it also writes, for looking at, the smoothest 64×64 patch of the last frame as
the canvas, the 0.1.0 GIF and drawart's GIF decode it, side by side and upscaled 4× (crop.png).

    python bench/output_quality.py [--run outputs/bench-chelsea-256] [--render-size 1024] [--scale S] [--crops DIR]
"""

import argparse
import io
import os
import time
from pathlib import Path

from common import ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image, ImageSequence  # noqa: E402

from drawart import formats, gif, picture  # noqa: E402


def canvases_of(run_dir: Path, render_size: int, scale: int) -> np.ndarray:
    """Float canvases (T+1, H, W, C) of the run's newest checkpoint, nearest-upscaled by `scale`."""
    from drawart import drawing, train
    from drawart.config import RenderConfig
    from drawart.run import RunDir

    run = RunDir(run_dir)
    model, _ = train.load_model(run)
    grid = drawing.grid_scale(model, RenderConfig(render_size=render_size))
    canvases = model.trace(run.load_image(), seed=0, grid_scale=grid)["canvases"]
    return np.repeat(np.repeat(canvases, scale, axis=1), scale, axis=2) if scale > 1 else canvases


def blur(x: np.ndarray, width: int = 8) -> np.ndarray:
    """A width×width box blur applied twice over axes 0 and 1 (edges clamped)."""
    for _ in range(2):
        for axis in (0, 1):
            pad = [(0, 0)] * x.ndim
            pad[axis] = (width // 2 + 1, width // 2)
            c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis, dtype=np.float64)
            x = (
                np.take(c, range(width, c.shape[axis]), axis=axis)
                - np.take(c, range(0, c.shape[axis] - width), axis=axis)
            ) / width
    return x


def measures(decoded: np.ndarray, canvases: np.ndarray, frames: np.ndarray) -> dict:
    """The figures above for decoded uint8 frames against the float canvases and the uint8 frames."""
    error = np.abs(decoded.astype(np.float32) - canvases * 255)
    band, smooth_share = [], []
    for got, want in zip(decoded, canvases):
        want = want.astype(np.float64)
        gradient = np.abs(np.diff(want, axis=0, append=want[-1:])) + np.abs(np.diff(want, axis=1, append=want[:, -1:]))
        smooth = blur(gradient.sum(axis=-1)) < 3 / 255
        difference = np.abs(blur(got / 255.0) - blur(want)).mean(axis=-1) * 255
        band.append(difference[smooth])
        smooth_share.append(smooth.mean())
    n, h, w, c = error.shape
    signed = (decoded.astype(np.float32) - canvases * 255)[:, : h // 8 * 8, : w // 8 * 8]
    block = np.abs(signed.reshape(n, h // 8, 8, w // 8, 8, c).mean(axis=(2, 4))).max()
    still = (frames[1:] == frames[:-1]).all(axis=-1)
    moved = (decoded[1:] != decoded[:-1]).any(axis=-1)
    return {
        "mean": error.mean(),
        "max": error.max(),
        "block": block,
        "band": np.concatenate(band).mean(),
        "smooth": np.mean(smooth_share),
        "shimmer": (still & moved).sum() / max(still.sum(), 1),
    }


def decode(data: bytes, durations) -> np.ndarray:
    """Decoded frames, one per input frame: libwebp merges identical consecutive frames, so each
    input frame is matched to the decoded one on screen when it starts."""
    with Image.open(io.BytesIO(data)) as image:
        shown, starts = [], []
        for frame in ImageSequence.Iterator(image):
            frame.load()
            starts.append(frame.info.get("timestamp", sum(durations[: len(starts)])))
            shown.append(np.asarray(frame.convert("RGB")))
    at = np.searchsorted(starts, np.cumsum([0] + list(durations[:-1])), side="right") - 1
    return np.stack(shown)[at]


def per_frame_median_cut(frames):
    """drawart 0.1.0's GIF colours: each frame its own 256-colour median cut, no dithering."""
    out = []
    for frame in frames:
        p = Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT)
        out.append(np.asarray(p.convert("RGB")))
    return np.stack(out)


def shared_palette(frames, dither):
    """drawart's one palette for the animation, each pixel mapped by Pillow (nearest or Floyd–Steinberg)."""
    palette = gif.gif_palette(frames, gif.animation_colours(frames))
    image = Image.new("P", (1, 1))
    image.putpalette(palette.tobytes())
    return np.stack(
        [np.asarray(Image.fromarray(f).quantize(palette=image, dither=dither).convert("RGB")) for f in frames]
    )


def shared_palette_exact_nearest(frames):
    """drawart's palette, each colour drawn with its nearest entry (colour_mixes' first), no dithering."""
    colours = gif.animation_colours(frames)
    palette = gif.gif_palette(frames, colours)
    first, _, _ = gif.colour_mixes(colours, palette)
    return np.stack([palette[first[np.searchsorted(colours, gif._packed(f))]] for f in frames])


def smoothest_patch(canvas: np.ndarray, side: int = 64) -> tuple[int, int]:
    """(row, column) of the side×side patch of (H, W, C) whose summed gradient is least."""
    gradient = np.abs(np.diff(canvas, axis=0, append=canvas[-1:])).sum(-1) + np.abs(
        np.diff(canvas, axis=1, append=canvas[:, -1:])
    ).sum(-1)
    c = np.pad(gradient, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = c[side:, side:] - c[:-side, side:] - c[side:, :-side] + c[:-side, :-side]
    return np.unravel_index(sums.argmin(), sums.shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=ROOT / "outputs" / "bench-chelsea-256")
    parser.add_argument("--render-size", type=int, default=1024)
    parser.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscale after rendering")
    parser.add_argument("--crops", type=Path, help="write crop.png of a smooth patch here, to look at")
    args = parser.parse_args()
    canvases = canvases_of(args.run, args.render_size, args.scale)
    frames = picture.to_uint8(canvases)
    durations = formats.frame_durations(len(frames))
    print(
        f"{args.run.name}: {len(frames)} frames of {frames.shape[2]}×{frames.shape[1]}, "
        f"{len(gif.animation_colours(frames))} colours"
    )
    candidates = {
        "uint8 frames themselves": lambda: (frames, None),
        "GIF, per-frame median cut (0.1.0)": lambda: (per_frame_median_cut(frames), None),
        "GIF, one palette, Pillow nearest": lambda: (shared_palette(frames, Image.Dither.NONE), None),
        "GIF, one palette, exact nearest": lambda: (shared_palette_exact_nearest(frames), None),
        "GIF, one palette, Floyd-Steinberg": lambda: (shared_palette(frames, Image.Dither.FLOYDSTEINBERG), None),
        "GIF, drawart (ordered mixes)": lambda: gif.encode_gif(frames, durations),
        "WebP lossless (drawart)": lambda: formats.encode_webp(frames, durations),
        "WebP lossy q90": lambda: formats.encode_webp(frames, durations, lossless=False, quality=90),
    }
    print(f"{'candidate':36} {'mean':>6} {'max':>6} {'block':>6} {'band':>6} {'shimmer':>8} {'KiB':>7} {'s':>6}")
    looked = {}
    for name, make in candidates.items():
        start = time.perf_counter()
        made = make()
        seconds = time.perf_counter() - start
        data = made if isinstance(made, bytes) else None
        decoded = decode(data, durations) if data else made[0]
        m = measures(decoded, canvases, frames)
        size = f"{len(data) / 1024:7.0f}" if data else f"{'-':>7}"
        print(
            f"{name:36} {m['mean']:6.2f} {m['max']:6.1f} {m['block']:6.2f} {m['band']:6.3f} {100 * m['shimmer']:7.2f}% {size} {seconds:6.1f}"
        )
        looked[name] = decoded[-1]
    print(f"(band over the {100 * m['smooth']:.0f}% of pixels that are smooth)")
    if args.crops:
        y, x = smoothest_patch(canvases[-1])
        shown = [frames[-1], looked["GIF, per-frame median cut (0.1.0)"], looked["GIF, drawart (ordered mixes)"]]
        patches = [picture.upscale(f[y : y + 64, x : x + 64], 4) for f in shown]
        gap = np.full((256, 8, 3), 255, np.uint8)
        args.crops.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([patches[0], gap, patches[1], gap, patches[2]], axis=1)).save(
            args.crops / "crop.png"
        )
        print(
            f"wrote {args.crops / 'crop.png'}: uint8 canvas | 0.1.0 GIF | drawart GIF, the patch at row {y}, column {x}"
        )


if __name__ == "__main__":
    main()
