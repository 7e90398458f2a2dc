"""What `drawart fit` will do: what was asked merged with what the run already holds, checked
before anything is written (a refused resume or a size the machine cannot hold changes nothing)."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path

from drawart import __version__
from drawart.batches import held_out_count
from drawart.compat import PAPER_WINDOW
from drawart.config import (
    DATASET_TRAIN_DEFAULTS,
    IMAGE_FIELDS_FIXED_AT_START,
    TRAIN_FIELDS_FIXED_AT_START,
    ImageConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    milestone_every,
    window_schedule,
    window_training_for,
    write_n_for,
)
from drawart.errors import RunError
from drawart.image import load_image
from drawart.plan import memory_problem
from drawart.run import RunDir
from drawart.windows import WINDOW_TYPES


def check_resume(stored: RunConfig, wanted: RunConfig, run_path: Path) -> None:
    """Refuse to continue a run with another image, another model or another random stream."""
    differences = []
    if stored.image.digest != wanted.image.digest:
        what = "the data" if stored.image.dataset else "the image"
        differences.append(f"{what} ({stored.image.path} then, {wanted.image.path} now: pixels differ)")
    for section, names in (
        ("image", IMAGE_FIELDS_FIXED_AT_START),
        ("model", [f.name for f in fields(ModelConfig)]),
        ("train", TRAIN_FIELDS_FIXED_AT_START),
    ):
        for name in names:
            old, new = getattr(getattr(stored, section), name), getattr(getattr(wanted, section), name)
            if old != new:
                differences.append(f"{name} ({old} then, {new} now)")
    if differences:
        raise RunError(
            f"{run_path} was trained with different settings: {'; '.join(differences)}. "
            "Rerun with the original settings, or pass another --out to start a new run"
        )


def package_versions() -> dict:
    """Versions of what wrote the run, read without importing TensorFlow. drawart's is the code's
    own: an editable install's metadata keeps the version it was installed at."""
    versions = {"python": platform.python_version(), "drawart": __version__}
    for name in ("tensorflow", "keras", "numpy", "pillow"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


@dataclass(frozen=True)
class FitPlan:
    """What `drawart fit` will do: the run, its full config, the prepared image or images."""

    run: RunDir
    config: RunConfig
    pixels: object  # float32 (H, W, C) for one image, (N, H, W, C) for a data set
    resuming: bool
    warnings: list[str] = field(default_factory=list)  # one line each, for the user


def plan_fit(
    data_path,
    out,
    size=None,
    gray=None,
    binarize=None,
    val_fraction=None,
    model: dict | None = None,
    train: dict | None = None,
) -> FitPlan:
    """Merge what was asked with what the run already holds, and check that it may go on.

    `data_path` is one picture, or a data set (a folder or .npy/.npz of images, see dataset.py).
    Options left as None take the run's stored value when resuming, else the default. Nothing is
    written here: bad data or a refused resume leaves the disk as it was.
    """
    from drawart.dataset import binarized, is_dataset, load_dataset

    run = RunDir(Path(out))
    warnings = []
    if run.path.exists() and not run.path.is_dir():
        raise RunError(f"{run.path} is a file, not a run directory: choose another --out")
    stored = run.read_config() if run.exists() else None
    given = lambda values: {k: v for k, v in (values or {}).items() if v is not None}
    dataset = is_dataset(data_path)

    def shaped(height: int, width: int, channels: int) -> ModelConfig:
        """The model asked for, at this image shape, with the defaults that follow the image and
        the glimpses for a new run (options given win). Raises ValueError/TypeError on a bad option."""
        config = replace(base.model, **given(model), height=height, width=width, channels=channels)
        if stored:
            return config
        side = max(height, width)
        fitted = {
            **window_schedule(config.glimpses),
            "write_n": write_n_for(side),
            **window_training_for(side),
        }
        return replace(config, **{k: v for k, v in fitted.items() if k not in given(model)})

    base = stored or RunConfig(train=replace(TrainConfig(), **DATASET_TRAIN_DEFAULTS) if dataset else TrainConfig())
    binarize = base.image.binarize if binarize is None else binarize
    val_fraction = base.image.val_fraction if val_fraction is None else val_fraction
    gray = (base.image.gray if stored else None) if gray is None else gray
    if dataset:
        size = stored.image.size if stored and size is None else size
        loaded = load_dataset(data_path, size=size, gray=gray, binarize=binarize)
        pixels, count = loaded.images, len(loaded.images)
        size = max(pixels.shape[1:3])
    else:
        if val_fraction:
            raise RunError(
                f"--val-fraction needs a data set, and {data_path} is one picture: pass a folder or a .npy/.npz of images"
            )
        size = base.image.size if size is None else size

        def check_shape(height: int, width: int, channels: int) -> None:
            """Refuse a size this machine cannot train before an image that size is made."""
            try:
                wanted = RunConfig(model=shaped(height, width, channels), train=replace(base.train, **given(train)))
            except (TypeError, ValueError):
                return  # an option out of range: said below, with its name
            problem = memory_problem(wanted, size)
            if problem:
                raise RunError(problem)

        loaded = load_image(data_path, size=size, gray=gray, check_shape=check_shape)
        if size > max(loaded.source_size):
            warnings.append(
                f"warning: --size {size} enlarges {data_path} ({loaded.source_size[0]}×{loaded.source_size[1]} px): "
                "the drawing will be no sharper than the photo"
            )
        pixels, count = loaded.pixels, 1
        if binarize:
            pixels = binarized(pixels)
    height, width, channels = pixels.shape[-3:]
    try:
        model_config = shaped(height, width, channels)
        if not WINDOW_TYPES[model_config.window].bounded:
            shaping = [name for name in PAPER_WINDOW if name != "window" and name in given(model)]
            if shaping:
                option = "--" + shaping[0].replace("_", "-")
                raise RunError(
                    f"{option} shapes local windows, and this run draws with --window paper: drop {option} or use --window local"
                )
            model_config = replace(model_config, **PAPER_WINDOW)
        model_config.validate()
        train_config = replace(base.train, **given(train))
        if not stored and "gif_every" not in given(train):
            train_config = replace(train_config, gif_every=milestone_every(train_config.steps))
        train_config.validate()
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction must be at least 0 and below 1, got {val_fraction}")
        if dataset and count - held_out_count(count, val_fraction) < 1:
            raise ValueError(f"val_fraction {val_fraction} of {count} images leaves none to train on")
    except ValueError as err:
        raise RunError(f"{err}: change that option") from None
    wanted = RunConfig(
        model=model_config,
        train=train_config,
        image=ImageConfig(
            path=str(data_path),
            digest=loaded.digest,
            size=size,
            gray=channels == 1,
            dataset=dataset,
            count=count,
            binarize=binarize,
            val_fraction=float(val_fraction),
        ),
        versions=package_versions(),
    )
    if stored:
        check_resume(stored, wanted, run.path)
        # Keep the path the run was started with: the digest is what identifies the data.
        wanted = replace(wanted, image=replace(wanted.image, path=stored.image.path))
    return FitPlan(run, wanted, pixels, stored is not None, warnings)
