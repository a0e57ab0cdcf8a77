"""The capture writer: hourly partitions written atomically, rejected rows kept with what was sent, sampling,
a size limit, and a failing disk or a full queue that never fails (or blocks) a request."""

from __future__ import annotations

import time
import numpy as np
import pytest

from designer.core.serve.capture import CaptureWriter, capture_files, capture_summary, read_captures
from designer.core.serve.contract import Problem
from designer.core.serve.payload import parse_invocation

INPUTS = [("x", "numeric"), ("colour", "categorical")]
OUTPUTS = {"prediction": "number"}


def _rows(records: list[dict]):
    import json

    return parse_invocation(json.dumps({"dataframe_records": records}).encode(), "application/json", 100)


def _put(writer: CaptureWriter, request_id: str, received: float, status: int = 200, n: int = 1) -> None:
    rows = _rows([{"x": float(i), "colour": "red"} for i in range(n)])
    typed = {"x": [float(i) for i in range(n)], "colour": ["red"] * n}
    outputs = {"prediction": np.arange(n, dtype=float)} if status == 200 else None
    problems = [] if status == 200 else [Problem("unseen category 'red'", "colour", 1)]
    writer.put_request(request_id=request_id, received=received, latency_ms=1.5, status=status, rows=rows,
                       typed=typed if status == 200 else None, outputs=outputs, problems=problems, body=b"{}")


def test_rows_land_in_hourly_partitions_with_rejected_rows_as_sent(tmp_path):
    writer = CaptureWriter(tmp_path / "c", INPUTS, OUTPUTS, flush_seconds=0.05)
    hour = 3600.0
    base = (time.time() // hour) * hour
    _put(writer, "a", base + 10, n=3)
    _put(writer, "b", base + hour + 10, status=422, n=2)
    writer.put_request(request_id="c", received=base + 20, latency_ms=0.1, status=400, rows=None, typed=None,
                       outputs=None, problems=[Problem("the body is not valid JSON")], body=b"not json")
    writer.close()
    files = capture_files(tmp_path / "c")
    assert len({f.parent for f in files}) == 2 and all(f.name.startswith("part-") for f in files)
    assert not list((tmp_path / "c").rglob(".*.tmp"))  # temporary files renamed or removed
    table = read_captures(tmp_path / "c").to_pandas().sort_values(["request_id", "row"])
    assert table["request_id"].tolist() == ["a", "a", "a", "b", "b", "c"]
    ok = table[table["status"] == 200]
    assert ok["prediction"].tolist() == [0.0, 1.0, 2.0] and ok["input:x"].tolist() == [0.0, 1.0, 2.0]
    rejected = table[table["status"] == 422]
    assert rejected["raw"].iloc[0] == '{"x": 0.0, "colour": "red"}' and rejected["prediction"].isna().all()
    assert "unseen category" in rejected["error"].iloc[0]
    unread = table[table["status"] == 400].iloc[0]
    assert unread["row"] == 0 and unread["raw"] == "not json" and "not valid JSON" in unread["error"]
    summary = capture_summary(tmp_path / "c")
    assert summary["rows"] == 6 and summary["scored"] == 3 and summary["rejected"] == 3 and summary["first"]
    assert writer.counts() == {"written": 6, "dropped": 0, "failed": 0, "queued": 0}


def test_a_failing_disk_is_counted_and_warned_once(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the capture folder should be")
    warnings: list[str] = []
    writer = CaptureWriter(blocker / "c", INPUTS, OUTPUTS, flush_seconds=0.01, warn=warnings.append)
    for i in range(5):
        _put(writer, f"r{i}", time.time())
        time.sleep(0.03)
    writer.close()
    assert writer.failed == 5 and writer.written == 0
    assert len(warnings) == 1 and "scoring goes on" in warnings[0]


def test_size_limit_stops_capturing(tmp_path):
    warnings: list[str] = []
    writer = CaptureWriter(tmp_path / "c", INPUTS, OUTPUTS, max_bytes=1, flush_seconds=0.01, warn=warnings.append)
    _put(writer, "first", time.time())
    deadline = time.monotonic() + 20
    while writer.written < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    _put(writer, "second", time.time())
    writer.close()
    assert writer.written == 1 and writer.dropped == 1
    assert any("size limit" in w for w in warnings)


def test_a_full_queue_drops_without_blocking(tmp_path):
    writer = CaptureWriter(tmp_path / "c", INPUTS, OUTPUTS, queue_size=1, flush_seconds=5)
    started = time.perf_counter()
    for i in range(200):
        _put(writer, f"r{i}", time.time())
    assert time.perf_counter() - started < 2  # never waits for the disk
    writer.close()
    assert writer.written + writer.dropped == 200 and writer.dropped > 0
    _put(writer, "late", time.time())  # after close: counted, not lost silently
    assert writer.written + writer.dropped == 201


@pytest.mark.parametrize("rate", [0.25])
def test_sampling_keeps_about_the_rate(tmp_path, rate):
    import random

    from designer.core.serve.server import Endpoint, Options

    writer = CaptureWriter(tmp_path / "c", INPUTS, OUTPUTS, flush_seconds=0.05)
    endpoint = Endpoint.__new__(Endpoint)  # only its capture decision is exercised here
    endpoint.options = Options(name="m", version="1", capture=writer, capture_sample=rate)
    random.seed(5)
    rows = _rows([{"x": 1.0, "colour": "red"}])
    for i in range(400):
        endpoint.capture(f"r{i}", time.perf_counter(), 200, rows, {"prediction": np.zeros(1)}, [], b"{}",
                         {"x": [1.0], "colour": ["red"]})
    writer.close()
    assert 0.18 * 400 < writer.written < 0.32 * 400
