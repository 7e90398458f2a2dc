"""drawart.metrics: rows appended across resumes, a half-written row trimmed, read without touching."""

import csv

from drawart.metrics import METRICS_COLUMNS, append_metrics, disk_usage, last_metrics_row, last_metrics_step


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
