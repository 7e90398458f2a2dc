"""Write scikit-learn's 8×8 handwritten digits (1797 of them, shipped inside its wheel: nothing is
downloaded) as an array drawart can train on:

    pip install scikit-learn && python examples/make_digits.py   # -> outputs/digits.npz
    drawart fit outputs/digits.npz --size 16 --binarize --val-fraction 0.1

Pixels 0..16 become 0..255, the range drawart reads as intensities.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/digits.npz")
out.parent.mkdir(parents=True, exist_ok=True)
images = np.round(load_digits().images * 255 / 16).astype(np.uint8)
np.savez_compressed(out, images=images)
print(f"wrote {out}: {images.shape[0]} images of {images.shape[1]}×{images.shape[2]}")
