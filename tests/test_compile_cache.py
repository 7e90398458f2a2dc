"""drawart.compile_cache: where XLA keeps compiled code between launches, and the compile times."""

import os

from drawart import compile_cache


def test_the_cache_is_the_users_unless_named_or_turned_off(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.SETTING, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.folder() == tmp_path / "xdg" / "drawart" / "xla"
    monkeypatch.setenv(compile_cache.SETTING, str(tmp_path / "mine"))
    assert compile_cache.folder() == tmp_path / "mine"
    monkeypatch.setenv(compile_cache.SETTING, "0")
    assert compile_cache.folder() is None


def test_enabling_adds_the_flag_once_and_keeps_the_users_own(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.SETTING, str(tmp_path / "xla"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    compile_cache.enable()
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=0 {compile_cache.FLAG}={tmp_path / 'xla'}"
    assert (tmp_path / "xla").is_dir()
    compile_cache.enable()  # already named: unchanged
    assert os.environ["TF_XLA_FLAGS"].count(compile_cache.FLAG) == 1
    monkeypatch.setenv("TF_XLA_FLAGS", "")
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv(compile_cache.SETTING, str(tmp_path / "file" / "xla"))
    compile_cache.enable()  # cannot be made: every launch compiles, nothing breaks
    assert compile_cache.FLAG not in os.environ["TF_XLA_FLAGS"]


def test_compile_times_are_remembered_per_step(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.SETTING, str(tmp_path / "xla"))
    assert compile_cache.last_seconds("a") is None
    compile_cache.record_seconds("a", 31.24)
    compile_cache.record_seconds("b", 4.0)
    assert (compile_cache.last_seconds("a"), compile_cache.last_seconds("b")) == (31.2, 4.0)
    (tmp_path / "xla" / compile_cache.TIMES).write_text("{broken")
    assert compile_cache.last_seconds("a") is None
    compile_cache.record_seconds("a", 2.0)  # a broken file is replaced, not a failure
    assert compile_cache.last_seconds("a") == 2.0


def test_the_step_is_traced_from_a_round_unique_name_number_once():
    from tensorflow.python.framework.ops import uid

    seen = []
    step = compile_cache.traced_alike(lambda value: seen.append(uid()) or value)
    uid()  # wherever the counter stands
    assert step(3) == 3
    assert seen[0] % compile_cache.NAME_STRIDE == 0  # the first number the traced step takes is round
    step(4)
    assert compile_cache.NAME_STRIDE > seen[1] - seen[0] > 0  # later calls leave the counter alone
