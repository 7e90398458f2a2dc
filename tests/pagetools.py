"""For tests of a run's page: its inline data, and headless Chromium to open it in (found on PATH;
the tests that need it skip without it)."""

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

# Debian's package and command are `chromium`; other systems name it chromium-browser.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no headless Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it), "
    "so the page cannot be opened to check its drawing",
)


def inline_data(page_text: str, name: str):
    """The JSON of the page's inline data element `name` ("run" or "strokes")."""
    found = re.search(rf'<script type="application/json" id="{name}-data">(.*?)</script>', page_text, re.S)
    assert found, f"the page has no inline {name} data"
    return json.loads(found.group(1))


def open_page(path: Path, fragment: str, profile: Path) -> dict:
    """Load the page in headless Chromium at `fragment` in test mode; return its report, with the
    drawing canvas's pixels as `rgb` (H, W, 3) floats in [0, 1] and Chromium's console lines."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--force-device-scale-factor=1",
        "--window-size=1280,900",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=20000",
        "--dump-dom",
        f"{path.resolve().as_uri()}#{fragment}&test=1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    found = re.search(r'<pre id="test-output">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page wrote no test output; console: {console}; Chromium: {done.stderr[-1500:]}"
    report = json.loads(html.unescape(found.group(1)))
    rgba = np.frombuffer(base64.b64decode(report["rgba"]), np.uint8).reshape(report["height"], report["width"], 4)
    report["rgb"] = rgba[..., :3] / 255.0
    report["console"] = console
    return report


def as_rgb(canvas: np.ndarray) -> np.ndarray:
    """A (H, W, C) canvas as the page shows it: gray repeated in R, G and B."""
    return np.repeat(canvas, 3, axis=-1) if canvas.shape[-1] == 1 else canvas
