"""Every hyperparameter and its default, in one place.

The CLI takes its option defaults from here and a run's `config.json` is written from here, so a
default is changed in exactly one line.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

from drawart.compat import ABSENT
from drawart.windows import WINDOW_TYPES

WINDOWS = tuple(WINDOW_TYPES)  # window parametrisations, one class each in windows.py


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape. A run refuses to resume when any of these differ."""

    height: int = 64  # B, pixels
    width: int = 64  # A, pixels
    channels: int = 1  # 1 gray, 3 RGB
    glimpses: int = 32  # T
    read_n: int = 5  # N of the read filterbank (per side)
    write_n: int = 20  # N of the write filterbank (per side): best PSNR per minute in bench/quality.py; larger above 64 px (write_n_for)
    attention: bool = True
    hidden: int = 256  # units of the encoder and of the decoder LSTM
    z: int = 32  # latent size per glimpse
    window: str = "local"  # "local": bounded, gap-free windows; "paper": Gregor et al.'s (windows.py)
    max_window: float = 0.3  # local: largest write window side, as a share of the image's longest side
    block_in: int = 8  # local: the first glimpses, whose write window may span the whole image (window_schedule)
    taper: int = 8  # local: glimpses after the block-in over which the bound narrows to max_window (bench/strokes.py)
    confined: bool = (
        True  # local: no write window can leave the image, fade to nothing or shrink to nothing (windows.py)
    )
    window_floor: float = (
        0.1  # confined: a write window's side is at least this share of its glimpse's bound (bench/strokes.py)
    )
    gamma_range: float = 0.5  # confined: a write's log γ stays within ±this, so it writes e^-0.5..e^0.5 of its patch
    # attention: the windows' raw parameters move at this times the rate of the rest (network.raw_window);
    # a new run above 64 px gets a tenth (BIG_PICTURE)
    window_rate: float = 1 / 3
    # confined: each write window pays this times the image's pixels for its raw parameters past the
    # knees of its limits (windows.LocalWindow.overshoot), so no glimpse can park there for good;
    # a new run above 64 px gets BIG_PICTURE's
    window_margin: float = 0.0
    canvas_loss: float = 0.0  # weight of the canvases' loss on the way, after the block-in (DrawModel.canvas_weights); BIG_PICTURE's above 64 px

    def validate(self) -> None:
        """Raise ValueError naming the first field that cannot make a model."""
        for name in ("height", "width", "glimpses", "hidden", "z"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.attention:
            for name in ("read_n", "write_n"):
                if getattr(self, name) < 2:
                    raise ValueError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {self.window!r}")
        if not 0 < self.max_window <= 1:
            raise ValueError(f"max_window must be above 0 and at most 1, got {self.max_window}")
        for name in ("block_in", "taper"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, got {getattr(self, name)}")
        if not 0 <= self.window_floor <= 1:
            raise ValueError(f"window_floor must be at least 0 and at most 1, got {self.window_floor}")
        if not self.window_rate > 0:
            raise ValueError(f"window_rate must be positive, got {self.window_rate}")
        if not self.window_margin >= 0:
            raise ValueError(f"window_margin must be at least 0, got {self.window_margin}")
        if not self.canvas_loss >= 0:
            raise ValueError(f"canvas_loss must be at least 0, got {self.canvas_loss}")
        if not self.gamma_range > 0:
            raise ValueError(f"gamma_range must be positive, got {self.gamma_range}")


def write_n_for(size: int) -> int:
    """The write grid a new run of an image whose longest side is `size` gets unless given.

    20 up to 64 px (bench/quality.py); above, the grid grows with the side's square root, so the
    strokes keep up with the pixels: at 256 px, 44 reached 23.1 dB on astronaut in 4 minutes where
    20 reached 20.4 and 32 reached 22.4 (bench/big_pictures.py --set '{"write_n": N}').
    """
    return ModelConfig.write_n if size <= 64 else max(ModelConfig.write_n, round(22 * (size / 64) ** 0.5))


# What a new run above 64 px gets unless given, all measured at 256 px on every photo of
# ../shared/data (docs/every-glimpse.md): the windows at a tenth of the network's rate (more drawn
# at step 6000 on all eleven than a third); a margin that pulls a write window back from its limits
# (gravel kept drawing to step 6000); and a loss on the canvases after the block-in, at 0.3 (grass:
# 28 of 32 glimpses drawing where 20 drew without; at 1.0 the horse silhouette was finished by
# glimpse 12 and only 23 drew). Up to 64 px, where 0.8.0's defaults were measured, a new run keeps
# ModelConfig's.
BIG_PICTURE = {"window_rate": 0.1, "window_margin": 0.01, "canvas_loss": 0.3}


def window_training_for(size: int) -> dict:
    """How the windows of a new run of an image whose longest side is `size` are trained unless
    given: BIG_PICTURE's fields above 64 px, none (ModelConfig's) up to 64 px."""
    return {} if size <= 64 else dict(BIG_PICTURE)


def milestone_every(steps: int) -> int:
    """The --gif-every a new run gets unless given: about 20 milestones over `steps`, steps/20
    rounded (by ratio) to 1, 2 or 5 × 10^k, so the milestones fall on round steps that `drawart gif
    --every` can pick (1,000,000 → 50,000; 20,000 → 1,000; 30,000 → 2,000)."""
    wanted = max(steps / MILESTONES, 1)
    power = 10 ** math.floor(math.log10(wanted))
    candidates = [unit * power for unit in (1, 2, 5, 10)]
    return min(candidates, key=lambda every: abs(math.log(every / wanted)))


MILESTONES = 20  # a new run keeps about this many milestones unless --gif-every is given


def window_schedule(glimpses: int) -> dict:
    """The block-in and taper a new local-window run gets unless given: a quarter of the glimpses
    each, so the last half is drawn locally whatever T (8 and 8 at the default T = 32)."""
    return {"block_in": glimpses // 4, "taper": glimpses // 4}


@dataclass(frozen=True)
class TrainConfig:
    """How the model is trained. Safe to change between resumes, except `seed`, `batch` and `ema`."""

    steps: int = 20000  # total optimiser steps to reach (not an increment)
    lr: float = 3e-3  # Adam learning rate at step 0: best PSNR per minute in bench/quality.py
    lr_decay_steps: int = 100000  # the learning rate halves every this many steps (smoothly)
    batch: int = 1  # noise samples of the image per step
    clip_norm: float = 1.0  # gradient clipping by global norm: the exp() in attention can spike
    ema: float = (
        0.99  # drawings come from a moving average of the weights with this momentum; 0: the weights (averaging.py)
    )
    seed: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    steps_per_call: int = 50  # optimiser steps run inside one compiled call; also the log interval
    unroll: int = 1  # glimpses unrolled per iteration of the compiled glimpse loop
    jit_compile: bool = True  # XLA; see train.py for why it pays off
    gif_every: int = (
        5000  # milestone GIF (and kept weights) every this many steps; 0: none. A new run: milestone_every(steps)
    )
    max_bad_steps: int = 100  # steps in a row with a NaN or Inf loss or gradient before the run stops
    strategy: str = "default"  # "mirrored": tf.distribute.MirroredStrategy over every visible device

    def validate(self) -> None:
        """Raise ValueError naming the first field that cannot train."""
        minimum = {
            "steps": 1,
            "lr_decay_steps": 1,
            "batch": 1,
            "checkpoint_every": 1,
            "keep_checkpoints": 1,
            "steps_per_call": 1,
            "unroll": 1,
            "gif_every": 0,
            "max_bad_steps": 1,
        }
        for name, low in minimum.items():
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)}")
        for name in ("lr", "clip_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be at least 0 and below 1, got {self.ema}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")


STRATEGIES = ("default", "mirrored")

# A data set trains like the DRAW paper's MNIST runs: a batch of distinct images per step, and the
# Adam rate usual there. One image keeps TrainConfig's own defaults (bench/quality.py picked them).
DATASET_TRAIN_DEFAULTS = {"batch": 64, "lr": 1e-3}


@dataclass(frozen=True)
class RenderConfig:
    """How a drawing becomes frames. Milestone GIFs during fit use the defaults."""

    boxes: bool = True  # read (green) and write (red) windows on every frame
    scale: int = 0  # upscale (by a finer grid, see smooth); 0: the smallest making the longest side >= min_side
    min_side: int = 256
    side_by_side: bool = False  # the target image left of the canvas
    render_size: int = 0  # longest side to evaluate the write filters at; 0: see smooth
    # Attention runs without render_size: evaluate the write filters at the output size, so an
    # upscaled drawing shows smooth strokes, not training pixels blown up into blocks. None: the
    # run's own default (smooth_by_default). False (`--nearest`) is what drawart 0.1.0 drew, and
    # what a record written without the field means.
    smooth: bool | None = None
    seed: int = 0  # the reconstruction's own noise, never the training random state
    shown: int = 16  # images of a data set redrawn, in one grid, by milestone GIFs (4×4)
    frame_ms: int = 60  # each drawing step's frame (GIF: in 10 ms units, at least 20 ms)
    hold_ms: int = 1500  # the finished drawing stays this long before the loop restarts
    samples: int = 16  # drawings from the prior in one `drawart sample` grid (4×4)


@dataclass(frozen=True)
class ImageConfig:
    """Which picture, or set of pictures, a run fits and how it was prepared. A run refuses other data."""

    path: str = ""  # as given when the run started (informational)
    digest: str = ""  # sha256 of the decoded source pixels: what identifies the image or data set
    size: int = 64  # longest side after resizing, pixels
    gray: bool = False  # trained on one channel
    dataset: bool = False  # a folder or array of images, not one picture
    count: int = 1  # images in the data
    binarize: bool = False  # pixels thresholded at 0.5 to 0 or 1 (binarised MNIST)
    val_fraction: float = 0.0  # share of a data set held out to measure the bound on


# Fields of ImageConfig besides the digest that a resumed run must keep.
IMAGE_FIELDS_FIXED_AT_START = ("size", "gray", "dataset", "count", "binarize", "val_fraction")


# Fields that change the random stream or the loss's scale, or what a checkpoint holds: resuming
# with other values would not continue the same training run.
TRAIN_FIELDS_FIXED_AT_START = ("seed", "batch", "ema")


@dataclass(frozen=True)
class RunConfig:
    """What `config.json` holds: the model, the training, and the image it was fitted to."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    versions: dict = field(default_factory=dict)  # package versions that wrote the run

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """Build from parsed JSON; unknown keys are errors so a hand edit cannot go unnoticed."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown RunConfig field(s): {', '.join(unknown)}")
        return cls(
            model=_build(ModelConfig, data.get("model", {})),
            train=_build(TrainConfig, data.get("train", {})),
            image=_build(ImageConfig, data.get("image", {})),
            versions=dict(data.get("versions", {})),
        )


def _build(kind, values: dict):
    if not isinstance(values, dict):
        raise ValueError(f"{kind.__name__} should be a JSON object, got {type(values).__name__}")
    known = {f.name: f.type for f in fields(kind)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown {kind.__name__} field(s): {', '.join(unknown)}")
    defaults = kind()
    typed = dict(ABSENT.get(kind.__name__, {}))
    for name, value in values.items():
        default = getattr(defaults, name)
        # A field whose default is None ("decided later", as RenderConfig.smooth) is typed by the
        # value it takes when absent.
        expected = type(typed.get(name) if default is None else default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise ValueError(f"{kind.__name__}.{name} should be {expected.__name__}, got {value!r}")
        typed[name] = value
    return kind(**typed)


def smooth_by_default(model: ModelConfig) -> bool:
    """Whether a run's drawings are shown with smooth strokes unless asked otherwise.

    Local windows: yes. The paper's window (every run drawart 0.1.0 made): no, its pixels are
    upscaled into blocks as 0.1.0 showed them; its write filters are dots a fraction of their
    stride wide, so evaluated finely they show the lattice between them.
    """
    return model.attention and WINDOW_TYPES[model.window].smooth
