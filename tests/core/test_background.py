"""Background: work in a thread whose result, or error, is handed to the thread that waits for it."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from designer.core.background import BELOW_RUN, Background


def test_the_result_and_the_error_reach_the_waiting_thread() -> None:
    assert Background(lambda: 6 * 7).result() == 42

    def broken() -> None:
        raise ValueError("column 'x' is text")

    job = Background(broken)
    with pytest.raises(ValueError, match="column 'x' is text"):
        job.result()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is Linux's")
def test_nice_work_runs_below_the_caller_and_leaves_the_caller_as_it_was() -> None:
    def own_priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = own_priority()
    assert Background(own_priority, nice=BELOW_RUN).result() == min(before + BELOW_RUN, 19)
    assert Background(own_priority).result() == before
    assert own_priority() == before
