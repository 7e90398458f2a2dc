"""drawart.run: atomic files, checkpoints with manifests, metrics, the resume check, plan_fit, the lock.

No TensorFlow here: checkpoints are written by a fake `write(prefix)`.
"""

import csv
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from drawart import atomic, checkpoints
from drawart.atomic import atomic_write_bytes
from drawart.checkpoints import (
    CHECKPOINT_PREFIX,
    MANIFEST,
    checkpoint_problem,
    latest_good_checkpoint,
    list_checkpoints,
    rotate_checkpoints,
    save_checkpoint,
    step_name,
)
from drawart.config import ImageConfig, ModelConfig, RunConfig, TrainConfig
from drawart.errors import RunError
from drawart.fit_plan import check_resume, plan_fit
from drawart.image import ImageError, load_image
from drawart.lock import RunLock
from drawart.metrics import METRICS_COLUMNS, append_metrics, disk_usage, last_metrics_row, last_metrics_step
from drawart.run import RunDir

INDEX = CHECKPOINT_PREFIX + ".index"
DATA = CHECKPOINT_PREFIX + ".data-00000-of-00001"


def fake_writer(payload: bytes = b"weights"):
    """A stand-in for tf.train.Checkpoint.write: two files next to `prefix`."""

    def write(prefix: str) -> None:
        Path(prefix + ".index").write_bytes(b"index:" + payload)
        Path(prefix + ".data-00000-of-00001").write_bytes(b"data:" + payload * 50)

    return write


def assert_one_line(err) -> str:
    message = str(err.value) if hasattr(err, "value") else str(err)
    assert message and "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Atomic files


def test_step_name_sorts_by_step():
    assert step_name(10) == "step-0000010"
    names = [step_name(s) for s in (5, 50, 500, 5000000)]
    assert sorted(names) == names


def test_atomic_write_bytes_writes_and_replaces(tmp_path):
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_atomic_write_bytes_failure_keeps_old_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"old content")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new content that never lands")
    monkeypatch.undo()
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_atomic_write_bytes_failure_on_new_file_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "new.json"

    def boom(*args, **kwargs):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"x")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Checkpoints


def test_save_checkpoint_writes_files_and_manifest(tmp_path):
    folder = tmp_path / "checkpoints"
    final = save_checkpoint(folder, 10, fake_writer())
    assert final == folder / "step-0000010"
    assert sorted(p.name for p in final.iterdir()) == sorted([INDEX, DATA, MANIFEST])
    assert (final / INDEX).read_bytes() == b"index:weights"
    manifest = json.loads((final / MANIFEST).read_text())
    assert manifest["step"] == 10
    assert manifest["files"] == {
        name: hashlib.sha256((final / name).read_bytes()).hexdigest() for name in (INDEX, DATA)
    }
    assert [p.name for p in folder.iterdir()] == ["step-0000010"]  # no .tmp-* left
    assert checkpoint_problem(final) is None
    assert list_checkpoints(folder) == [(10, final)]


def test_save_checkpoint_failing_write_leaves_nothing(tmp_path):
    folder = tmp_path / "checkpoints"

    def write(prefix):
        Path(prefix + ".index").write_bytes(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        save_checkpoint(folder, 10, write)
    assert list(folder.iterdir()) == []
    assert list_checkpoints(folder) == []


def test_save_checkpoint_never_replaces_an_existing_step(tmp_path):
    folder = tmp_path / "checkpoints"
    first = save_checkpoint(folder, 10, fake_writer(b"first"))
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    again = save_checkpoint(folder, 10, fake_writer(b"second"))
    assert again == first
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before
    assert [p.name for p in folder.iterdir()] == ["step-0000010"]


def test_checkpoint_problem_good_is_none(tmp_path):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    assert checkpoint_problem(path) is None


def test_checkpoint_problem_truncated_data(tmp_path):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    data = (path / DATA).read_bytes()
    (path / DATA).write_bytes(data[: len(data) // 2])
    problem = checkpoint_problem(path)
    assert problem and DATA in problem


def test_checkpoint_problem_garbled_byte(tmp_path):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    data = bytearray((path / DATA).read_bytes())
    data[7] ^= 0x01
    (path / DATA).write_bytes(bytes(data))
    problem = checkpoint_problem(path)
    assert problem and DATA in problem


def test_checkpoint_problem_missing_file(tmp_path):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    (path / INDEX).unlink()
    problem = checkpoint_problem(path)
    assert problem and INDEX in problem and "missing" in problem


def test_checkpoint_problem_missing_manifest(tmp_path):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    (path / MANIFEST).unlink()
    problem = checkpoint_problem(path)
    assert problem and MANIFEST in problem


@pytest.mark.parametrize(
    "text", ["{not json", "", "[]", '{"step": 10}', '{"files": 3}', '{"step": 10, "files": {}}', "\xff\xfe"]
)
def test_checkpoint_problem_invalid_manifest(tmp_path, text):
    path = save_checkpoint(tmp_path, 10, fake_writer())
    (path / MANIFEST).write_bytes(text.encode("latin-1"))
    problem = checkpoint_problem(path)
    assert problem and "manifest" in problem and "\n" not in problem


def test_an_empty_checkpoint_is_not_good(tmp_path):
    """A manifest listing no files would vouch for a checkpoint with no weights at all."""
    path = save_checkpoint(tmp_path, 10, lambda prefix: None)
    assert "no files" in checkpoint_problem(path)
    assert latest_good_checkpoint([tmp_path], warn=lambda m: None) is None


def test_save_checkpoint_sets_a_damaged_one_aside(tmp_path):
    """Replaying up to a step whose checkpoint is damaged must save it anew, or the run never heals."""
    damaged = save_checkpoint(tmp_path, 10, fake_writer(b"first"))
    (damaged / DATA).write_bytes(b"garbled")
    again = save_checkpoint(tmp_path, 10, fake_writer(b"second"))
    assert again == damaged and checkpoint_problem(again) is None
    assert (again / INDEX).read_bytes() == b"index:second"
    aside = tmp_path / "step-0000010.damaged"
    assert (aside / DATA).read_bytes() == b"garbled"  # kept, not deleted
    (again / DATA).write_bytes(b"garbled twice")
    save_checkpoint(tmp_path, 10, fake_writer(b"third"))
    assert (tmp_path / "step-0000010.damaged-2" / DATA).read_bytes() == b"garbled twice"
    assert list_checkpoints(tmp_path) == [(10, again)]


def test_latest_good_checkpoint_across_folders_skips_corrupt(tmp_path):
    checkpoints, milestones = tmp_path / "checkpoints", tmp_path / "milestones"
    save_checkpoint(checkpoints, 20, fake_writer())
    good = save_checkpoint(milestones, 25, fake_writer())
    bad = save_checkpoint(checkpoints, 30, fake_writer())
    (bad / DATA).write_bytes(b"truncated")
    warnings = []
    found = latest_good_checkpoint([checkpoints, milestones], warn=warnings.append)
    assert found == (25, str(good / CHECKPOINT_PREFIX))
    assert len(warnings) == 1
    assert "\n" not in warnings[0] and str(bad) in warnings[0]


def test_latest_good_checkpoint_prefers_newest_in_either_folder(tmp_path):
    checkpoints, milestones = tmp_path / "checkpoints", tmp_path / "milestones"
    save_checkpoint(milestones, 5, fake_writer())
    newest = save_checkpoint(checkpoints, 40, fake_writer())
    save_checkpoint(checkpoints, 30, fake_writer())
    warnings = []
    assert latest_good_checkpoint([checkpoints, milestones], warn=warnings.append) == (
        40,
        str(newest / CHECKPOINT_PREFIX),
    )
    assert warnings == []
    newest_m = save_checkpoint(milestones, 50, fake_writer())
    assert latest_good_checkpoint([checkpoints, milestones], warn=warnings.append)[1] == str(
        newest_m / CHECKPOINT_PREFIX
    )


def test_latest_good_checkpoint_none(tmp_path):
    warnings = []
    assert latest_good_checkpoint([tmp_path / "checkpoints", tmp_path / "milestones"], warn=warnings.append) is None
    (tmp_path / "checkpoints" / ".tmp-step-0000010-1").mkdir(parents=True)  # unfinished: not a checkpoint
    assert latest_good_checkpoint([tmp_path / "checkpoints"], warn=warnings.append) is None
    assert warnings == []


def test_latest_good_checkpoint_all_corrupt_warns_for_each(tmp_path):
    for step in (10, 20):
        (save_checkpoint(tmp_path, step, fake_writer()) / MANIFEST).unlink()
    warnings = []
    assert latest_good_checkpoint([tmp_path], warn=warnings.append) is None
    assert len(warnings) == 2


def test_rotate_checkpoints_keeps_newest_and_removes_leftovers(tmp_path):
    for step in (10, 20, 30, 40, 50):
        save_checkpoint(tmp_path, step, fake_writer())
    leftover = tmp_path / ".tmp-step-0000060-12345"
    leftover.mkdir()
    (leftover / INDEX).write_bytes(b"half")
    rotate_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000040", "step-0000050"]


def test_rotation_killed_halfway_through_a_delete_leaves_no_broken_checkpoint(tmp_path, monkeypatch):
    """Found by bench/kill_anywhere.py: a kill inside rmtree left a step-* folder with files missing."""
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, step, fake_writer())

    def killed_halfway(path, ignore_errors=False):
        next(Path(path).iterdir()).unlink()
        raise KeyboardInterrupt  # stands in for the kill

    monkeypatch.setattr(checkpoints.shutil, "rmtree", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        rotate_checkpoints(tmp_path, keep=2)
    monkeypatch.undo()
    assert [step for step, _ in list_checkpoints(tmp_path)] == [20, 30]
    assert all(checkpoint_problem(path) is None for _, path in list_checkpoints(tmp_path))
    rotate_checkpoints(tmp_path, keep=2)  # the next rotation clears the leftover
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000020", "step-0000030"]


def test_rotate_checkpoints_keep_more_than_present(tmp_path):
    for step in (10, 20):
        save_checkpoint(tmp_path, step, fake_writer())
    rotate_checkpoints(tmp_path, keep=3)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 20]


def test_rotate_checkpoints_missing_folder(tmp_path):
    rotate_checkpoints(tmp_path / "nothing", keep=3)  # no error
    assert not (tmp_path / "nothing").exists()


# ---------------------------------------------------------------------------------------------
# Metrics


def row(step, loss=0.5):
    return {"step": step, "loss": loss, "recon": loss * 0.9, "kl": loss * 0.1, "psnr": 20.0 + step, "seconds": 1.25}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_metrics_header_once_and_steps_appended(tmp_path):
    path = tmp_path / "metrics.csv"
    assert last_metrics_step(path) == 0
    append_metrics(path, row(50))
    append_metrics(path, row(100))
    rows = read_rows(path)
    assert rows[0] == list(METRICS_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["50", "100"]
    assert path.read_text().count("step,") == 1
    assert last_metrics_step(path) == 100


def test_metrics_header_only_is_step_zero(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(",".join(METRICS_COLUMNS) + "\n")
    assert last_metrics_step(path) == 0


def test_metrics_half_written_row_is_trimmed(tmp_path):
    path = tmp_path / "metrics.csv"
    append_metrics(path, row(50))
    append_metrics(path, row(100))
    complete = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"150,0.12")  # crash mid-row
    assert last_metrics_step(path) == 100
    assert path.read_bytes() == complete
    append_metrics(path, row(150))
    rows = read_rows(path)
    assert [r[0] for r in rows[1:]] == ["50", "100", "150"]
    assert all(len(r) == len(METRICS_COLUMNS) for r in rows)


def test_metrics_half_written_header_is_trimmed(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"step,lo")
    assert last_metrics_step(path) == 0
    append_metrics(path, row(10))
    rows = read_rows(path)
    assert rows == [list(METRICS_COLUMNS), rows[1]] and rows[1][0] == "10"


def test_metrics_values_round_trip_exactly(tmp_path):
    path = tmp_path / "metrics.csv"
    values = {"step": 7, "loss": 0.1 + 0.2, "recon": 1 / 3, "kl": 1e-300, "psnr": 123456.789012345678, "seconds": 2.0}
    append_metrics(path, values)
    header, line = read_rows(path)
    parsed = dict(zip(header, line))
    assert int(parsed["step"]) == 7
    for name in ("loss", "recon", "kl", "psnr", "seconds"):
        assert float(parsed[name]) == values[name]


# ---------------------------------------------------------------------------------------------
# check_resume


def base_config() -> RunConfig:
    return RunConfig(
        model=ModelConfig(height=16, width=24, channels=1, glimpses=8),
        train=TrainConfig(steps=100, lr=1e-3, seed=3, batch=2),
        image=ImageConfig(path="a.png", digest="d" * 64, size=24, gray=True),
    )


def test_check_resume_identical_passes(tmp_path):
    check_resume(base_config(), base_config(), tmp_path)


@pytest.mark.parametrize(
    "section, changes, named",
    [
        ("image", {"digest": "e" * 64, "path": "b.png"}, "image"),
        ("image", {"size": 32}, "size"),
        ("image", {"gray": False}, "gray"),
        ("model", {"glimpses": 9}, "glimpses"),
        ("model", {"attention": False}, "attention"),
        ("model", {"channels": 3}, "channels"),
        ("train", {"seed": 4}, "seed"),
        ("train", {"batch": 1}, "batch"),
        ("train", {"ema": 0.9}, "ema"),
    ],
)
def test_check_resume_refuses(tmp_path, section, changes, named):
    stored = base_config()
    wanted = replace(stored, **{section: replace(getattr(stored, section), **changes)})
    with pytest.raises(RunError) as err:
        check_resume(stored, wanted, tmp_path)
    message = assert_one_line(err)
    assert named in message and str(tmp_path) in message


def test_check_resume_digest_message_names_both_paths(tmp_path):
    stored = base_config()
    wanted = replace(stored, image=replace(stored.image, digest="e" * 64, path="b.png"))
    with pytest.raises(RunError, match=r"a\.png then, b\.png now"):
        check_resume(stored, wanted, tmp_path)


@pytest.mark.parametrize(
    "changes",
    [{"lr": 5e-4}, {"steps": 5000}, {"checkpoint_every": 7}, {"keep_checkpoints": 9}, {"gif_every": 10}],
)
def test_check_resume_allows_training_changes(tmp_path, changes):
    stored = base_config()
    check_resume(stored, replace(stored, train=replace(stored.train, **changes)), tmp_path)


def test_check_resume_ignores_path_and_versions(tmp_path):
    stored = base_config()
    wanted = replace(stored, image=replace(stored.image, path="moved/a.png"), versions={"numpy": "9"})
    check_resume(stored, wanted, tmp_path)


# ---------------------------------------------------------------------------------------------
# plan_fit


def test_plan_fit_new_run_writes_nothing(tmp_path, tiny_gray_png):
    out = tmp_path / "runs" / "gray"
    before = sorted(tmp_path.rglob("*"))
    plan = plan_fit(tiny_gray_png, out, size=24)
    assert sorted(tmp_path.rglob("*")) == before
    assert not out.exists() and not out.parent.exists()
    assert not plan.resuming
    assert plan.run.path == out
    assert plan.pixels.shape == (16, 24, 1)
    model = plan.config.model
    assert (model.height, model.width, model.channels) == (16, 24, 1)
    assert plan.config.image.digest == load_image(tiny_gray_png).digest
    assert len(plan.config.image.digest) == 64
    assert plan.config.image.gray is True and plan.config.image.size == 24
    import drawart  # the code's own version, not what an (editable) install's metadata says

    assert plan.config.versions["drawart"] == drawart.__version__
    assert plan.config.image.path == str(tiny_gray_png)
    assert plan.config.train == TrainConfig(gif_every=1000)  # about 20 milestones over the default 20,000 steps
    assert "python" in plan.config.versions


def test_plan_fit_shape_comes_from_the_image(tmp_path, tiny_rgb_png):
    plan = plan_fit(tiny_rgb_png, tmp_path / "run", size=40, model={"glimpses": 4, "height": None})
    model = plan.config.model
    assert (model.height, model.width, model.channels) == plan.pixels.shape == (24, 40, 3)
    assert model.glimpses == 4
    assert plan.config.image.gray is False
    gray = plan_fit(tiny_rgb_png, tmp_path / "run", size=40, gray=True)
    assert gray.config.model.channels == 1 and gray.config.image.gray is True


def test_a_new_run_keeps_about_20_milestones_unless_told_and_a_resumed_run_keeps_its_own(tmp_path, tiny_gray_png):
    def every(out="run", **train):
        return plan_fit(tiny_gray_png, tmp_path / out, size=24, train=train).config.train.gif_every

    assert every(steps=1_000_000) == 50_000
    assert every(steps=20_000) == 1_000
    assert every() == 1_000  # the default --steps, 20,000
    assert every(steps=30_000) == 2_000
    assert every(steps=10) == 1
    assert every(steps=1_000_000, gif_every=7) == 7  # the user's value wins
    assert every(steps=1_000_000, gif_every=0) == 0
    made = plan_fit(tiny_gray_png, tmp_path / "old", size=24, train={"steps": 100, "gif_every": 30})
    made.run.create(made.config)
    assert every("old", steps=1_000_000) == 30  # resumed to more steps, it keeps its own


def test_a_new_runs_block_in_and_taper_follow_its_glimpses_unless_given(tmp_path, tiny_gray_png):
    def model(**options):
        return plan_fit(tiny_gray_png, tmp_path / "run", size=24, model=options).config.model

    assert (model().block_in, model().taper) == (8, 8)  # T = 32
    assert (model(glimpses=12).block_in, model(glimpses=12).taper) == (3, 3)
    assert (model(glimpses=12, block_in=5).block_in, model(glimpses=12, block_in=5).taper) == (5, 3)
    assert (model(glimpses=12, window="paper").block_in, model(glimpses=12, window="paper").taper) == (0, 0)


def test_a_new_runs_write_grid_grows_with_the_image_unless_given(tmp_path):
    from PIL import Image

    picture = tmp_path / "big.png"
    Image.fromarray(np.linspace(0, 255, 300 * 200, dtype=np.float32).reshape(200, 300).astype(np.uint8)).save(picture)
    write_n = lambda size, **options: plan_fit(picture, tmp_path / "run", size=size, model=options).config.model.write_n
    assert write_n(64) == write_n(32) == 20
    assert write_n(128) > 20 and write_n(256) == 44 > write_n(128)
    assert write_n(256, write_n=12) == 12


def test_plan_fit_invalid_option_is_run_error(tmp_path, tiny_gray_png):
    with pytest.raises(RunError, match="glimpses") as err:
        plan_fit(tiny_gray_png, tmp_path / "run", model={"glimpses": 0})
    assert_one_line(err)
    with pytest.raises(RunError, match="steps"):
        plan_fit(tiny_gray_png, tmp_path / "run", train={"steps": 0})
    assert not (tmp_path / "run").exists()


def start_run(image, out, **kwargs):
    plan = plan_fit(image, out, **kwargs)
    plan.run.create(plan.config)
    return plan


def test_plan_fit_resume_keeps_stored_values(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7}, train={"seed": 5, "lr": 2e-3})
    stored_text = (out / "config.json").read_bytes()
    plan = plan_fit(tiny_gray_png, out, model={"glimpses": None, "z": None}, train={"seed": None, "lr": None})
    assert plan.resuming
    assert plan.config.model.glimpses == 7
    assert plan.config.image.size == 24  # size=None: the stored size, not the default 64
    assert plan.config.train.seed == 5 and plan.config.train.lr == 2e-3
    assert (out / "config.json").read_bytes() == stored_text


def test_plan_fit_resume_keeps_stored_gray(tmp_path, tiny_rgb_png):
    out = tmp_path / "run"
    start_run(tiny_rgb_png, out, size=20, gray=True)
    plan = plan_fit(tiny_rgb_png, out)  # gray=None: the stored gray, not the image's own colour
    assert plan.config.model.channels == 1 and plan.config.image.gray is True


def test_plan_fit_resume_keeps_original_image_path(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24)
    copy = tmp_path / "copy.png"
    copy.write_bytes(tiny_gray_png.read_bytes())
    plan = plan_fit(copy, out)
    assert plan.config.image.path == str(tiny_gray_png)


def test_plan_fit_resume_may_change_lr_and_steps(tmp_path, tiny_gray_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7})
    plan = plan_fit(tiny_gray_png, out, train={"lr": 1e-4, "steps": 50})
    assert plan.resuming
    assert plan.config.train.lr == 1e-4 and plan.config.train.steps == 50


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"model": {"glimpses": 8}}, "glimpses"),
        ({"train": {"seed": 1}}, "seed"),
        ({"train": {"ema": 0.0}}, "ema"),
        ({"size": 16}, "size"),
        ({"gray": False}, "gray"),
    ],
)
def test_plan_fit_refused_resume_leaves_config(tmp_path, tiny_gray_png, kwargs, named):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24, model={"glimpses": 7})
    before = (out / "config.json").read_bytes()
    listing = sorted(out.rglob("*"))
    with pytest.raises(RunError) as err:
        plan_fit(tiny_gray_png, out, **kwargs)
    assert named in assert_one_line(err)
    assert (out / "config.json").read_bytes() == before
    assert sorted(out.rglob("*")) == listing


def test_plan_fit_refuses_another_image(tmp_path, tiny_gray_png, tiny_rgb_png):
    out = tmp_path / "run"
    start_run(tiny_gray_png, out, size=24)
    with pytest.raises(RunError, match="image") as err:
        plan_fit(tiny_rgb_png, out, size=24, gray=True)
    assert_one_line(err)


def test_plan_fit_out_is_a_file(tmp_path, tiny_gray_png):
    out = tmp_path / "not-a-dir"
    out.write_bytes(b"hello")
    with pytest.raises(RunError, match="is a file") as err:
        plan_fit(tiny_gray_png, out)
    assert_one_line(err)
    assert out.read_bytes() == b"hello"


@pytest.mark.parametrize(
    "text",
    [
        b"{ this is not json",
        b"",
        b"[1, 2]",
        b'{"model": {"glimpses": "32"}}',
        b'{"model": {"colour": 1}}',
        b'{"model": []}',
        b'{"modle": {}}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_plan_fit_broken_config_is_one_line_and_untouched(tmp_path, tiny_gray_png, text):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_bytes(text)
    with pytest.raises(RunError) as err:
        plan_fit(tiny_gray_png, out)
    message = assert_one_line(err)
    assert "config.json" in message
    assert (out / "config.json").read_bytes() == text
    assert [p.name for p in out.iterdir()] == ["config.json"]


def test_plan_fit_missing_image_creates_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ImageError):
        plan_fit(tmp_path / "missing.png", out)
    assert list(tmp_path.iterdir()) == []


def test_run_dir_create_and_read_back(tmp_path, tiny_gray_png):
    plan = plan_fit(tiny_gray_png, tmp_path / "a" / "b", size=24)
    plan.run.create(plan.config)
    assert plan.run.exists()
    assert plan.run.read_config() == plan.config
    assert sorted(p.name for p in plan.run.path.iterdir()) == ["config.json"]


def test_run_dir_create_on_a_file(tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(RunError, match="is a file"):
        RunDir(tmp_path / "f").create(RunConfig())


def test_run_dir_create_refuses_a_run_made_meanwhile(tmp_path, tiny_gray_png):
    plan = plan_fit(tiny_gray_png, tmp_path / "run", size=24)
    plan.run.create(plan.config)
    before = plan.run.config_path.read_bytes()
    with pytest.raises(RunError, match="another process"):
        plan.run.create(replace(plan.config, train=TrainConfig(seed=9)))
    assert plan.run.config_path.read_bytes() == before


def test_make_dir_under_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(RunError, match="cannot create run directory") as err:
        RunDir(tmp_path / "file" / "run").make_dir()
    assert_one_line(err)
    assert (tmp_path / "file").read_bytes() == b"x"


# ---------------------------------------------------------------------------------------------
# Failed writes


@pytest.mark.parametrize("errno_, strerror", [(28, "No space left on device"), (30, "Read-only file system")])
def test_writing_turns_a_failed_write_into_one_line_naming_the_resume_step(tmp_path, errno_, strerror):
    run = RunDir(tmp_path)
    save_checkpoint(run.checkpoints, 40, fake_writer())
    save_checkpoint(run.checkpoints, 50, fake_writer())
    (run.checkpoints / "step-0000050" / DATA).write_bytes(b"garbled")  # not where a resume starts
    target = run.gifs / "step-0000060.gif"
    with pytest.raises(RunError) as err:
        with run.writing("milestone GIF", target, 60):
            raise OSError(errno_, strerror)
    message = assert_one_line(err)
    assert message.startswith(f"cannot write the milestone GIF at step 60 in {target} ({strerror})")
    assert message.endswith("then rerun the same command to resume from step 40")


def test_writing_without_checkpoints_and_passing_other_errors(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(RunError, match="start again from step 0") as err:
        with run.writing("checkpoint", run.checkpoints, 5):
            atomic_write_bytes(tmp_path / "missing-folder" / "file", b"x")
    assert "No such file or directory" in assert_one_line(err)
    with pytest.raises(KeyError):  # only failed writes become RunError
        with run.writing("checkpoint", run.checkpoints, 5):
            raise KeyError("a bug stays a bug")
    with run.writing("checkpoint", run.checkpoints, 5):
        pass


# ---------------------------------------------------------------------------------------------
# Lock


def test_lock_is_exclusive_and_released(tmp_path):
    run = RunDir(tmp_path)
    with run.lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())
        with pytest.raises(RunError) as err:
            with run.lock():
                pass
        message = assert_one_line(err)
        assert str(os.getpid()) in message
    with run.lock():  # released: can be taken again
        pass
    assert not (tmp_path / "lock").exists()  # a clean exit leaves no lock file behind


def test_a_lock_file_deleted_by_its_leaving_holder_is_not_the_lock(tmp_path):
    lock = RunLock(tmp_path / "lock")
    fd = os.open(lock.path, os.O_RDWR | os.O_CREAT)
    try:
        assert lock._still_at_path(fd)
        os.unlink(lock.path)  # as a holder does on leaving, after we opened it
        assert not lock._still_at_path(fd)
        lock.path.write_text("")  # and the next process made a new one
        assert not lock._still_at_path(fd)
    finally:
        os.close(fd)


def test_lock_replaces_a_stale_owner(tmp_path):
    (tmp_path / "lock").write_text("123456789012345 stale")
    with RunDir(tmp_path).lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())


def test_lock_of_a_dead_process_is_free(tmp_path):
    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from drawart.lock import RunLock
        RunLock(Path({str(tmp_path / "lock")!r})).__enter__()
        print(os.getpid(), flush=True)
        os._exit(0)  # dies holding the lock: no __exit__
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dead_pid = done.stdout.strip()
    assert (tmp_path / "lock").read_text() == dead_pid
    with RunDir(tmp_path).lock():
        assert (tmp_path / "lock").read_text() == str(os.getpid())


def test_lock_held_by_another_process(tmp_path):
    code = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from drawart.lock import RunLock
        with RunLock(Path({str(tmp_path / "lock")!r})):
            print(os.getpid(), flush=True)
            sys.stdin.read()  # hold until the parent closes stdin
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = holder.stdout.readline().strip()
        assert pid == str(holder.pid)
        with pytest.raises(RunError) as err:
            with RunLock(tmp_path / "lock"):
                pass
        assert f"process {pid}" in assert_one_line(err)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    with RunLock(tmp_path / "lock"):
        pass


def test_lock_in_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(RunError, match="lock file") as err:
        with RunLock(tmp_path / "missing" / "lock"):
            pass
    assert_one_line(err)


def test_last_metrics_row_reads_without_touching_the_file(tmp_path):
    path = tmp_path / "metrics.csv"
    assert last_metrics_row(path) is None
    append_metrics(path, {"step": 50, "loss": 3.0, "recon": 2.0, "kl": 1.0, "psnr": 20.5, "seconds": 4.0})
    append_metrics(path, {"step": 100, "loss": 2.5, "recon": 2.0, "kl": 0.5, "psnr": 21.5, "seconds": 8.0})
    with open(path, "a") as f:
        f.write("150,2.1,1.")  # a crash mid-row
    before = path.read_bytes()
    assert last_metrics_row(path) == {
        "step": 100,
        "loss": 2.5,
        "recon": 2.0,
        "kl": 0.5,
        "psnr": 21.5,
        "seconds": 8.0,
    }
    assert path.read_bytes() == before  # `drawart info` may run while fit appends
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(METRICS_COLUMNS) + "\n")
    assert last_metrics_row(header_only) is None


def test_disk_usage_counts_every_file_below(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 5)
    assert disk_usage(tmp_path) == 15


# ---------------------------------------------------------------------------------------------
# Data sets: the stored images and the plan of a data-set run


def test_data_is_stored_exactly_and_as_bytes_when_it_can_be(tmp_path):
    import numpy as np

    run = RunDir(tmp_path)
    eighths = np.arange(2 * 4 * 4).reshape(2, 4, 4, 1).astype(np.float32) / 255.0  # k/255: bytes suffice
    run.save_data(eighths)
    assert np.load(run.data_path).dtype == np.uint8
    np.testing.assert_array_equal(run.load_data(), eighths)
    resized = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    run.save_data(resized)
    assert np.load(run.data_path).dtype == np.float32
    np.testing.assert_array_equal(run.load_data(), resized)


def test_plan_fit_of_a_data_set_takes_the_data_set_defaults(tmp_path, digits_npz):
    plan = plan_fit(digits_npz, tmp_path / "run", val_fraction=0.25)
    assert plan.pixels.shape == (1797, 8, 8, 1)  # its own size: under 64, so not resized
    image = plan.config.image
    assert (image.dataset, image.count, image.size, image.val_fraction, image.binarize) == (True, 1797, 8, 0.25, False)
    assert (plan.config.train.batch, plan.config.train.lr) == (64, 1e-3)
    assert plan_fit(digits_npz, tmp_path / "run", train={"batch": 8}).config.train.batch == 8


def test_plan_fit_refuses_a_held_out_share_that_leaves_nothing(tmp_path):
    import numpy as np

    np.save(tmp_path / "one.npy", np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(RunError, match="none to train on"):
        plan_fit(tmp_path / "one.npy", tmp_path / "run", val_fraction=0.5)


def test_plan_fit_binarizes_one_picture_too(tmp_path, tiny_gray_png):
    import numpy as np

    plan = plan_fit(tiny_gray_png, tmp_path / "run", size=24, binarize=True)
    gray = load_image(tiny_gray_png, size=24).pixels
    np.testing.assert_array_equal(plan.pixels, (gray > 0.5).astype(np.float32))
    assert plan.config.image.binarize and 0 < plan.pixels.mean() < 1
