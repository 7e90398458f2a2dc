#!/usr/bin/env bash
# Remake every GIF in examples/ with the commands the README gives, from a clean outputs/.
# Run from the repository root with drawart installed (and scikit-learn, for the digits).
set -euo pipefail
rm -rf outputs/camera-48 outputs/chelsea-48 outputs/chelsea-48-paper outputs/digits outputs/camera-256 outputs/chelsea-256
drawart fit examples/camera.png --out outputs/camera-256 --size 256 --steps 6000 --gif-every 6000
drawart fit examples/chelsea.png --out outputs/chelsea-256 --size 256 --steps 6000 --gif-every 6000
drawart gif outputs/camera-256 --every 6000 --no-boxes
drawart gif outputs/chelsea-256 --every 6000 --no-boxes
drawart fit examples/camera.png --out outputs/camera-48 --size 48 --glimpses 16 --steps 4000 --gif-every 500
drawart fit examples/chelsea.png --out outputs/chelsea-48 --size 48 --glimpses 16 --steps 4000 --gif-every 500
drawart fit examples/chelsea.png --out outputs/chelsea-48-paper --window paper --size 48 --glimpses 16 --steps 4000 --gif-every 4000
drawart gif outputs/camera-48 --every 4000 --scale 4
drawart gif outputs/camera-48 --every 4000 --scale 4 --no-boxes
drawart gif outputs/chelsea-48 --every 4000 --scale 4 --side-by-side
drawart gif outputs/chelsea-48 --evolution --scale 4
drawart sample outputs/camera-48 -n 4 --scale 2
python examples/make_comparison.py outputs/chelsea-48-paper outputs/chelsea-48 examples/chelsea-windows.gif
python examples/make_digits.py
drawart fit outputs/digits.npz --size 16 --binarize --val-fraction 0.1 \
    --glimpses 12 --hidden 128 --z 10 --read-n 2 --write-n 5 --steps 6000 --gif-every 3000
drawart gif outputs/digits --every 6000 --scale 4
drawart sample outputs/digits -n 16
cp outputs/camera-256/gifs/step-0006000-noboxes.gif examples/camera-256.gif
cp outputs/chelsea-256/gifs/step-0006000-noboxes.gif examples/chelsea-256.gif
cp outputs/camera-48/gifs/step-0004000-x4.gif examples/camera-boxes.gif
cp outputs/camera-48/gifs/step-0004000-noboxes-x4.gif examples/camera-noboxes.gif
cp outputs/chelsea-48/gifs/step-0004000-side-x4.gif examples/chelsea-side.gif
cp outputs/chelsea-48/gifs/evolution-x4.gif examples/chelsea-evolution.gif
cp outputs/camera-48/samples/step-0004000-4samples-x2-seed0.gif examples/camera-samples.gif
cp outputs/digits/gifs/step-0006000-x4.gif examples/digits-redrawn.gif
cp outputs/digits/samples/step-0006000-16samples-seed0.gif examples/digits-samples.gif
ls -l examples/*.gif
