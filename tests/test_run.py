"""drawart.run: the run directory's layout, made and read back; failed writes said in one line."""

from dataclasses import replace

import numpy as np
import pytest
from conftest import assert_one_line
from test_checkpoints import DATA, fake_writer

from drawart.atomic import atomic_write_bytes
from drawart.checkpoints import save_checkpoint
from drawart.config import RunConfig, TrainConfig
from drawart.errors import RunError
from drawart.fit_plan import plan_fit
from drawart.run import RunDir


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


def test_data_is_stored_exactly_and_as_bytes_when_it_can_be(tmp_path):

    run = RunDir(tmp_path)
    eighths = np.arange(2 * 4 * 4).reshape(2, 4, 4, 1).astype(np.float32) / 255.0  # k/255: bytes suffice
    run.save_data(eighths)
    assert np.load(run.data_path).dtype == np.uint8
    np.testing.assert_array_equal(run.load_data(), eighths)
    resized = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    run.save_data(resized)
    assert np.load(run.data_path).dtype == np.float32
    np.testing.assert_array_equal(run.load_data(), resized)
