"""porch.http.lifecycle: a health poll seen by one worker counts for all of them."""

from __future__ import annotations

import os

import pytest

from porch.http.lifecycle import Lifecycle


@pytest.mark.parametrize("shared", [True, False])
def test_a_poll_in_one_worker_is_seen_by_the_others_only_when_shared(shared: bool) -> None:
    lifecycle = Lifecycle(shared=shared)
    assert not lifecycle.health_polled
    pid = os.fork()
    if pid == 0:
        lifecycle.health_polled = True  # the app in one worker answered /-/health
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert lifecycle.health_polled is shared
    assert not lifecycle.draining  # draining stays each process's own
