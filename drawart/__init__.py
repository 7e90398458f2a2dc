"""drawart: overfit a DRAW network to one image and render the drawing process.

The public API: `drawart.open_run(path)` gives a `Run`, whose `model(step)`, `frames(step)` and
`strokes(step)` are what `drawart fit` kept (see drawart/api.py). TensorFlow loads only when a
model is asked for.
"""

__version__ = "0.14.0"
__all__ = ["Run", "open_run", "__version__"]


def __getattr__(name: str):
    """`Run` and `open_run` on first use, so `import drawart` (as the CLI's start does) stays light."""
    if name in ("Run", "open_run"):
        from drawart import api

        return getattr(api, name)
    raise AttributeError(f"module 'drawart' has no attribute {name!r}")
