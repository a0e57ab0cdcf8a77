"""The endpoint's statistics list the last requests by arrival, whatever order they were recorded in."""

from __future__ import annotations

from designer.core.serve.server import Stats


def test_recent_requests_are_listed_by_arrival_not_by_recording() -> None:
    stats = Stats()
    # recorded after its answer was sent: the slow first request is recorded after the quick second one
    stats.add("GET", "/", 200, 0.5, 0, None)
    stats.add("POST", "/invocations", 422, 400.0, 0, None)
    recent = stats.to_json()["recent"]
    assert [r["path"] for r in recent] == ["/invocations", "/"]
    assert stats.to_json()["requests"] == 2
