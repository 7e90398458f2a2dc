"""drawart: overfit a DRAW network to one image and render the drawing process."""

__version__ = "0.8.0"
