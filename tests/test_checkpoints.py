"""drawart.checkpoints: manifests of checksums, damaged checkpoints set aside, rotation.

No TensorFlow here: checkpoints are written by a fake `write(prefix)`.
"""

import hashlib
import json
from pathlib import Path

import pytest

from drawart import checkpoints
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

INDEX = CHECKPOINT_PREFIX + ".index"
DATA = CHECKPOINT_PREFIX + ".data-00000-of-00001"


def fake_writer(payload: bytes = b"weights"):
    """A stand-in for tf.train.Checkpoint.write: two files next to `prefix`."""

    def write(prefix: str) -> None:
        Path(prefix + ".index").write_bytes(b"index:" + payload)
        Path(prefix + ".data-00000-of-00001").write_bytes(b"data:" + payload * 50)

    return write


def test_step_name_sorts_by_step():
    assert step_name(10) == "step-0000010"
    names = [step_name(s) for s in (5, 50, 500, 5000000)]
    assert sorted(names) == names


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
