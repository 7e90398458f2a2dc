"""RUN/index.html: one self-contained page per run, to watch the drawing in a browser.

Everything the page shows is inline: the strokes of the kept milestones (export.py), the curves'
numbers, the image, the script and the style. It opens from the file system with no network and no
server, and fetches no library. page.js redraws the strokes at the browser canvas's own pixel size
with export.redraw's formulas, and draws the curves as inline SVG. Nothing here imports
TensorFlow: a page is assembled from the run's files and the strokes it is handed.

`#step=S&t=T` in the address opens milestone S at glimpse T (see page.js for the other keys).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import shlex
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from drawart import __version__, export
from drawart import run as rundir
from drawart.atomic import atomic_write_bytes
from drawart.config import RunConfig
from drawart.metrics import VALIDATION_COLUMNS, metrics_rows

# Milestones whose strokes go into one page: a long run's are thinned evenly (always keeping the
# first, the newest and the one asked for) to at most MAX_DRAWINGS, and to as many as fit in
# MAX_STROKES_BYTES: packed, a 256-px drawing's patches are about 1 MB (32 glimpses of 44×44×3),
# a 512-px one's 2 MB, so a long run's page stays under 20 MB instead of reaching 50 or 100.
MAX_DRAWINGS = 24
MAX_STROKES_BYTES = 16_000_000
# Points per curve: metrics.csv of a million-step run has 20,000 rows; every k-th (and the last) is plenty.
MAX_POINTS = 1500


def write_page(
    run: rundir.RunDir,
    docs: Mapping[int, dict | None] | None = None,
    path: Path | None = None,
    selected: int | None = None,
    image: np.ndarray | None = None,
) -> Path:
    """Write the run's page atomically to `path` (RUN/index.html by default) and return where.

    `docs` {step: strokes} are the drawings to show (default: those stored in RUN/strokes/ for the
    kept steps, read only for the milestones the page shows), `selected` the step the page opens at
    (default: the newest), `image` the image drawn (default: read from the run).
    """
    kept = export.drawable_steps(run)
    if docs is None:
        docs = export.StoredStrokes(run, kept)
    if image is None:
        image = run.training_data(run.read_config()).drawn
    path = Path(path or run.page_path)
    atomic_write_bytes(path, page_html(run, docs, kept, selected, image).encode("utf-8"))
    return path


def page_html(
    run: rundir.RunDir, docs: Mapping[int, dict | None], kept: list[int], selected: int | None, image: np.ndarray
) -> str:
    """The page's HTML: the template with its style, script and data filled in. Of `docs` (a None
    is a step whose strokes could not be read) only the milestones shown are looked up."""
    config = run.read_config()
    drawn, carried = sorted(docs), {}  # carried: {step: its packed document's JSON}, for those read

    def carry(step: int) -> bool:
        """Read and pack a step's drawing. An unreadable one leaves `drawn`: the page lists it as
        missing, so `drawart page` traces it again."""
        if step not in carried:
            if (doc := docs[step]) is None:
                drawn.remove(step)
                return False
            carried[step] = _inline_json(packed(doc))
        return True

    # The newest drawing's size sets how many fit (a run's drawings are all about as large).
    newest = next((step for step in reversed(list(drawn)) if carry(step)), None)
    most = MAX_DRAWINGS if newest is None else max(2, min(MAX_DRAWINGS, MAX_STROKES_BYTES // len(carried[newest])))
    shown = [step for step in thinned(list(drawn), most, selected) if carry(step)]
    data = page_data(run, config, kept, drawn, shown, selected, image)
    if newest is not None:
        data["drawing"] = drawing_summary(docs[newest], image)
    name = html.escape(f"drawart · {run.path.name} · step {data['step']}")
    parts = {
        "TITLE": name,
        "STYLE": _asset("page.css"),
        "SCRIPT": _asset("page.js"),
        "RUN": _inline_json(data),
        "STROKES": "[" + ",".join(carried[step] for step in shown) + "]",
    }
    # One pass, so that nothing filled in is itself read as a placeholder.
    return re.sub(r"@@(\w+)@@", lambda match: parts[match.group(1)], _asset("page.html"))


def packed(doc: dict) -> dict:
    """A strokes document as the page carries it: each glimpse's patch as base64 of its float32
    values, little-endian, in (channel, row, column) order. Exact, and under half the size of
    the decimals export.py writes (page.js unpacks it)."""

    def pack(patch) -> str:
        return base64.b64encode(np.asarray(patch, "<f4").tobytes()).decode("ascii")

    return {**doc, "glimpses": [{**glimpse, "patch": pack(glimpse["patch"])} for glimpse in doc["glimpses"]]}


def page_data(
    run: rundir.RunDir,
    config: RunConfig,
    kept: list[int],
    drawn: list[int],
    shown: list[int],
    selected: int,
    image: np.ndarray,
) -> dict:
    """Everything the page shows besides the strokes, as one JSON-ready dict. `kept`: steps whose
    weights are kept; `drawn`: steps with strokes; `shown`: those in the page."""
    metrics = metrics_rows(run.metrics_path)
    validation = metrics_rows(run.validation_path, VALIDATION_COLUMNS)
    last = metrics[-1] if metrics else {"step": 0, "seconds": 0.0}
    return {
        "name": run.path.name,
        "path": str(run.path),
        "step": last["step"],
        "steps": config.train.steps,
        "seconds": last["seconds"],
        "resume": resume_command(run, config),
        "version": __version__,
        "written": time.strftime("%Y-%m-%d %H:%M %Z"),
        "attention": config.model.attention,
        "dataset": config.image.dataset,
        "settings": {
            name: vars(section)
            for name, section in (("model", config.model), ("train", config.train), ("image", config.image))
        },
        "versions": config.versions,
        "metrics": curves(metrics, ("loss", "recon", "kl", "psnr")),
        "validation": curves(validation, ("bound",)) if validation else None,
        "image": image_uri(image),
        "selected": selected,
        "shown": shown,
        "drawn": len(drawn),
        "missing": [step for step in kept if step not in drawn] if config.model.attention else [],
    }


def drawing_summary(doc: dict, image: np.ndarray) -> dict:
    """How the newest drawing draws: glimpses drawing and the late share (progress.py)."""
    progress = export.drawing_progress(doc, image)
    late = progress.late_share()
    return {
        "step": doc["step"],
        "drawing": progress.drawing(),
        "glimpses": progress.glimpses,
        "late": late if math.isfinite(late) else 0.0,
    }


def thinned(steps: list[int], most: int, keep: int | None = None) -> list[int]:
    """At most `most` of `steps` (sorted), evenly spaced, always with the first, the last and `keep`."""
    if len(steps) <= most:
        return list(steps)
    picks = {steps[round(k * (len(steps) - 1) / (most - 1))] for k in range(most)}
    if keep in steps:
        picks.add(keep)
    return sorted(picks)


def curves(rows: list[dict], columns: tuple[str, ...]) -> dict:
    """{"step": [...], column: [...]} from log rows, by step (a step once), at most MAX_POINTS of them."""
    by_step = {row["step"]: row for row in rows}
    steps = sorted(by_step)
    every = max(1, -(-len(steps) // MAX_POINTS))
    steps = steps[::every] + ([steps[-1]] if steps and (len(steps) - 1) % every else [])
    return {"step": steps, **{c: [_finite(by_step[s][c]) for s in steps] for c in columns}}


def _finite(value):
    """A logged value, or None (a gap in the curve) for a non-finite one such as a skipped step's loss."""
    return value if value is None or math.isfinite(value) else None


def resume_command(run: rundir.RunDir, config: RunConfig) -> str:
    """The command that continues this run (raise --steps to train longer)."""
    return shlex.join(["drawart", "fit", config.image.path, "--out", str(run.path), "--steps", str(config.train.steps)])


def image_uri(pixels: np.ndarray) -> str:
    """A PNG data: URI of an image (H, W, C) in [0, 1]: inline, so the page needs no other file."""
    values = np.round(np.clip(np.asarray(pixels, np.float64), 0, 1) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(values[..., 0] if values.shape[-1] == 1 else values).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _inline_json(value) -> str:
    """JSON safe inside <script>: no '<', so no '</script>' in a path can end the element early."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def _asset(name: str) -> str:
    return resources.files("drawart").joinpath(name).read_text(encoding="utf-8")
