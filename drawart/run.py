"""The run directory: its layout, its config check, its checkpoints and its lock.

    RUN/config.json           every hyperparameter, the image's digest, package versions
    RUN/checkpoints/step-*/   the last few checkpoints, each with a manifest of checksums
    RUN/checkpoints/step-*.damaged   checkpoints that failed their checksums, set aside
    RUN/milestones/step-*/    checkpoints at GIF milestones, never rotated away
    RUN/metrics.csv           one row per logged step, appended across resumes
    RUN/validation.csv        the bound on held-out images (data sets), one row per checkpoint
    RUN/image.npy, data.npy   the picture, or the data set's images, exactly as trained on
    RUN/gifs/                 milestone GIFs
    RUN/samples/              grids of drawings from the prior (drawart sample)
    RUN/strokes/step-*.json   the strokes each milestone draws (export.py), written once
    RUN/index.html            the run's page (page.py), rewritten at every milestone
    RUN/tensorboard/          TensorBoard event files: scalars and reconstructions by global step
    RUN/lock                  held (flock) by the one process training this run

Every file is written under a temporary name and renamed into place, so a crash never leaves a
half-written file where a reader will look. Knows nothing of TensorFlow: checkpoints are written
by a callable it is handed.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from drawart import __version__
from drawart.batches import TrainingData, held_out_count
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
    write_n_for,
)
from drawart.errors import DrawartError
from drawart.image import load_image
from drawart.plan import memory_problem

CHECKPOINT_PATTERN = re.compile(r"^step-(\d+)$")
MANIFEST = "manifest.json"
CHECKPOINT_PREFIX = "ckpt"  # tf.train.Checkpoint writes ckpt.index and ckpt.data-*
METRICS_COLUMNS = ("step", "loss", "recon", "kl", "psnr", "seconds")
VALIDATION_COLUMNS = ("step", "bound", "recon", "kl")  # nats per held-out image


class RunError(DrawartError):
    """The run directory cannot be used as asked."""


def step_name(step: int) -> str:
    """Zero-padded so that files sort by step: step-0050000."""
    return f"step-{step:07d}"


# ---------------------------------------------------------------------------------------------
# Atomic files


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def record_path(path: Path) -> Path:
    """Where the record of what made an output file lies: beside it, hidden so the folder lists
    pictures only: `.step-0005000.gif.json`."""
    return path.with_name(f".{path.name}.json")


def write_with_record(path: Path, data: bytes, record: dict) -> None:
    """Write an output file and, first, the record of what made it, each atomically.

    Record first: a crash between the two leaves a record without its file, which is simply
    made again, never a file whose record is missing or says something else.
    """
    atomic_write_bytes(record_path(path), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    atomic_write_bytes(path, data)


def read_record(path: Path) -> dict | None:
    """The record beside an output file, or None when there is none or it cannot be read."""
    try:
        record = json.loads(record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# The run directory


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def milestones(self) -> Path:
        return self.path / "milestones"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def validation_path(self) -> Path:
        return self.path / "validation.csv"

    @property
    def gifs(self) -> Path:
        return self.path / "gifs"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def strokes(self) -> Path:
        return self.path / "strokes"

    @property
    def page_path(self) -> Path:
        return self.path / "index.html"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def image_path(self) -> Path:
        return self.path / "image.npy"

    def exists(self) -> bool:
        return self.config_path.exists()

    def save_image(self, pixels) -> None:
        """The prepared training image, exactly as trained on: renders never reload the source."""
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(pixels, dtype=np.float32))
        atomic_write_bytes(self.image_path, buffer.getvalue())

    def load_image(self):
        return self._load(self.image_path)

    @property
    def data_path(self) -> Path:
        return self.path / "data.npy"

    def save_data(self, images) -> None:
        """A data set's prepared images, exactly: as uint8 when every value is a multiple of 1/255
        (MNIST at its own size: a quarter of the float32 size), else as float32."""
        images = np.asarray(images, dtype=np.float32)
        as_bytes = np.round(images * 255).astype(np.uint8)
        exact = np.array_equal(as_bytes.astype(np.float32) / 255.0, images)
        buffer = io.BytesIO()
        np.save(buffer, as_bytes if exact else images)
        atomic_write_bytes(self.data_path, buffer.getvalue())

    def load_data(self):
        images = self._load(self.data_path)
        # The same division as image loading does, so the floats are the ones trained on.
        return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images

    def training_data(self, config: RunConfig) -> TrainingData:
        """The images as trained on (a picture is a set of one) and their roles: train, held out, shown."""
        dataset = config.image.dataset
        images = self.load_data() if dataset else self.load_image()[None]
        return TrainingData.prepare(images, config.image.val_fraction, config.train.seed, single=not dataset)

    def _load(self, path: Path):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise RunError(
                f"{path} is missing or unreadable ({type(err).__name__}): rerun drawart fit on this run to restore it"
            ) from None

    def read_config(self) -> RunConfig:
        """The stored config; a hand-edited, broken `config.json` is one clear error."""
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level is not a JSON object")
            return RunConfig.from_dict(data)
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise RunError(
                f"{self.config_path} is not a valid drawart config ({reason}): "
                "restore it or start a new run with another --out"
            ) from None

    def write_config(self, config: RunConfig) -> None:
        text = json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.config_path, text.encode("utf-8"))

    def make_dir(self) -> None:
        """Make the run's directory (and its parents) if missing; one line if it cannot be made."""
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a run directory: choose another --out")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create run directory {self.path} ({err.strerror}): choose another --out") from None

    def create(self, config: RunConfig) -> None:
        """Make the directory for a new run and write its config; refuse if another made it first."""
        self.make_dir()
        if self.exists():
            raise RunError(f"{self.path} was started by another process meanwhile: rerun the same command to resume it")
        try:
            self.write_config(config)
        except OSError as err:
            raise RunError(f"cannot create run directory {self.path} ({err.strerror}): choose another --out") from None

    def remove_if_unstarted(self) -> None:
        """Delete this run's directory if no checkpoint was ever written in it: nothing is lost, and
        a broken start never becomes the run that commands pick by default."""
        if self.path.is_dir() and not list_checkpoints(self.checkpoints) and not list_checkpoints(self.milestones):
            shutil.rmtree(self.path, ignore_errors=True)

    def lock(self) -> RunLock:
        return RunLock(self.path / "lock")

    def latest_checkpoint(self, warn=None) -> tuple[int, str] | None:
        """(step, prefix) of the newest intact checkpoint: where a resume starts.

        Milestones hold the weights alone (enough to redraw), so a resume never starts from one.
        """
        return latest_good_checkpoint([self.checkpoints], warn=warn)

    @contextmanager
    def writing(self, what: str, path: Path, step: int):
        """Turn a failed write (full disk, read-only folder...) into one line saying how to go on.

        Wrap every write made during training in it: `with run.writing("checkpoint", folder, step):`.
        Writers must leave earlier files intact on failure (atomic_write_bytes, save_checkpoint do).
        """
        try:
            yield
        except OSError as err:
            reason = err.strerror or str(err) or type(err).__name__
            found = self.latest_checkpoint(warn=lambda message: None)
            then = f"resume from step {found[0]}" if found else "start again from step 0"
            raise RunError(
                f"cannot write the {what} at step {step} in {path} ({reason}): free some disk space "
                f"or make {self.path} writable, then rerun the same command to {then}"
            ) from None


def find_run(path: Path | None, outputs: Path) -> RunDir:
    """The run at `path`, or the most recently trained one under `outputs` when path is None."""
    if path is None:
        runs = [RunDir(p) for p in outputs.glob("*") if (p / "config.json").is_file()] if outputs.is_dir() else []
        if not runs:
            raise RunError(f"no runs under {outputs}/: train one with drawart fit IMAGE, or name a run directory")
        return max(runs, key=lambda r: max(f.stat().st_mtime for f in (r.config_path, r.metrics_path) if f.exists()))
    run = RunDir(path)
    if not run.exists():
        raise RunError(f"{path} is not a drawart run (no config.json): name a directory made by drawart fit")
    return run


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
                shaped = replace(base.model, **given(model), height=height, width=width, channels=channels)
                if not stored:
                    shaped = replace(shaped, write_n=given(model).get("write_n", write_n_for(max(height, width))))
                wanted = RunConfig(model=shaped, train=replace(base.train, **given(train)))
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
        model_config = replace(base.model, **given(model), height=height, width=width, channels=channels)
        if not stored:  # defaults that follow the image and the glimpses, for a new run only
            fitted = {**window_schedule(model_config.glimpses), "write_n": write_n_for(max(height, width))}
            model_config = replace(model_config, **{k: v for k, v in fitted.items() if k not in given(model)})
        if model_config.window == "paper":
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


# ---------------------------------------------------------------------------------------------
# Lock


class RunLock:
    """One writer per run. flock is released by the kernel when its process dies: no stale locks.

    The holder deletes the file as it leaves, while still holding it; so a process that opened
    the file just before may lock a file no longer in the run, and must check that it locked the
    one at the path (else it tries again).
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd = None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunError(f"cannot create the lock file {self.path} ({err.strerror}): choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunError(
                f"{self.path.parent} is being trained by process {owner}: wait for it or stop it first"
            ) from None
        if not self._still_at_path(fd):  # its holder deleted it as we opened it: lock the new one
            os.close(fd)
            return self.__enter__()
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def _still_at_path(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def __exit__(self, *exc):
        try:
            self.path.unlink()  # before the unlock: see the class docstring
        except OSError:
            pass  # a read-only folder keeps an unlocked file, which blocks nobody
        os.close(self._fd)
        self._fd = None


# ---------------------------------------------------------------------------------------------
# Checkpoints


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every finished checkpoint in `folder`, oldest first."""
    found = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = CHECKPOINT_PATTERN.match(entry.name)
            if match and entry.is_dir():
                found.append((int(match.group(1)), entry))
    return sorted(found)


def save_checkpoint(folder: Path, step: int, write: Callable[[str], None]) -> Path:
    """Write a checkpoint through `write(prefix)` into a temporary folder, then rename it in.

    The manifest of checksums is written last, so a checkpoint is complete exactly when its
    manifest is present and every file matches it. An intact checkpoint is never replaced; a
    damaged one is renamed aside (never deleted) so the run heals instead of replaying forever.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / step_name(step)
    if final.exists():
        if checkpoint_problem(final) is None:
            return final
        set_aside(final)
    tmp = folder / f".tmp-{step_name(step)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(str(tmp / CHECKPOINT_PREFIX))
        files = sorted(p for p in tmp.iterdir() if p.is_file())
        for p in files:
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        manifest = {"step": step, "files": {p.name: sha256_file(p) for p in files}}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def set_aside(path: Path) -> Path:
    """Rename a damaged checkpoint to `step-N.damaged[-k]`: out of every listing, kept for a look."""
    for k in range(1, 1000):
        aside = path.with_name(f"{path.name}.damaged" + (f"-{k}" if k > 1 else ""))
        if not aside.exists():
            os.rename(path, aside)
            return aside
    raise OSError(f"too many damaged copies of {path}")


def checkpoint_problem(path: Path) -> str | None:
    """Why the checkpoint at `path` cannot be trusted, or None when every file matches its manifest."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if not manifest["files"]:
            return "its manifest lists no files"
        for name, digest in manifest["files"].items():
            if sha256_file(path / name) != digest:
                return f"{name} does not match its checksum"
    except FileNotFoundError as err:
        return f"{Path(err.filename).name} is missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return f"its manifest is unreadable ({type(err).__name__})"
    return None


def latest_good_checkpoint(folders: list[Path], warn=None) -> tuple[int, str] | None:
    """(step, prefix) of the newest checkpoint, across `folders`, whose files match their manifest."""
    warn = warn or (lambda message: print(message, file=sys.stderr))
    candidates = sorted((c for folder in folders for c in list_checkpoints(folder)), reverse=True)
    for step, path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return step, str(path / CHECKPOINT_PREFIX)
        warn(f"warning: skipping checkpoint {path} ({problem}); using an earlier one")
    return None


def rotate_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints, and leftovers of interrupted writes.

    A checkpoint is renamed out of the listing before its files are deleted: a crash halfway
    through deleting must leave a leftover, not a checkpoint with files missing.
    """
    for _, path in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        doomed = path.with_name(f".tmp-rotated-{path.name}")
        try:
            os.rename(path, doomed)
            fsync_dir(folder)  # after a power cut too, the rename lands before any file is gone
        except OSError:
            continue  # tried again at the next rotation
        shutil.rmtree(doomed, ignore_errors=True)
    for leftover in folder.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Metrics


def last_metrics_step(path: Path) -> int:
    """The step of the last complete row in metrics.csv (0 if none), trimming a half-written row."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        # A crash mid-row: drop the fragment so the next row starts on a line of its own.
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    for line in reversed(data.decode("utf-8", errors="replace").splitlines()):
        head = line.split(",", 1)[0]
        if head.isdigit():
            return int(head)
    return 0


def last_metrics_row(path: Path, columns=METRICS_COLUMNS) -> dict | None:
    """The last complete row of metrics.csv (or another log of `columns`) as {column: number}, or
    None; read-only (for `info`)."""
    rows = metrics_rows(path, columns)
    return rows[-1] if rows else None


def metrics_rows(path: Path, columns=METRICS_COLUMNS) -> list[dict]:
    """Every complete row of metrics.csv (or another log of `columns`) as {column: number}, in file
    order; read-only. A row cut short by a crash, or unreadable, is left out."""
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")[:-1]  # a fragment has no \n
    except OSError:
        return []
    rows = []
    for line in lines:
        values = line.split(",")
        if len(values) == len(columns) and values[0].isdigit():
            try:
                rows.append({"step": int(values[0]), **{c: float(v) for c, v in zip(columns[1:], values[1:])}})
            except ValueError:
                continue
    return rows


def disk_usage(path: Path) -> int:
    """Bytes of all files below `path`."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file() and not p.is_symlink())


def append_metrics(path: Path, row: dict, columns=METRICS_COLUMNS) -> None:
    """Append one row (writing the header first in a new file) and flush it to disk."""
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", encoding="utf-8") as f:
        if new:
            f.write(",".join(columns) + "\n")
        f.write(",".join(_format_metric(row[c]) for c in columns) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _format_metric(value) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))
