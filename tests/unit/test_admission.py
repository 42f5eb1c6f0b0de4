"""The admission policy (porch.server.admission) on stand-in connections: the order in which
slots are reclaimed at the limit, and when nothing is."""

from __future__ import annotations

from porch.http.wire import Phase
from porch.server.admission import ServerState


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


class Stand:
    def __init__(self, address: str, phase: Phase) -> None:
        self.address = address
        self.phase = phase
        self.transport = FakeTransport()

    def shutdown(self) -> None:
        pass


def fill(state: ServerState, *connections: Stand, limit: int) -> None:
    for connection in connections:
        assert state.admit(connection, limit)  # type: ignore[arg-type]
        if connection.phase == Phase.IDLE:
            state.idle[connection] = None  # type: ignore[index]


def test_below_the_limit_everyone_is_accepted_whatever_the_address() -> None:
    state = ServerState()
    fill(state, *(Stand("10.0.0.1", Phase.HEAD) for _ in range(50)), limit=51)
    assert state.admit(Stand("10.0.0.1", Phase.NEW), 51)  # type: ignore[arg-type]


def test_idle_connections_go_first_oldest_first() -> None:
    state = ServerState()
    old, young = Stand("a", Phase.IDLE), Stand("b", Phase.IDLE)
    slow = Stand("c", Phase.HEAD)
    fill(state, slow, old, young, limit=3)
    assert state.admit(Stand("d", Phase.NEW), 3)  # type: ignore[arg-type]
    assert old.transport.closed
    assert old.transport.written == b""  # quietly, like a keep-alive timeout
    assert not young.transport.closed
    assert not slow.transport.closed


def test_then_the_head_sender_of_the_address_holding_most() -> None:
    state = ServerState()
    a1, a2, b1 = Stand("a", Phase.HEAD), Stand("a", Phase.NEW), Stand("b", Phase.HEAD)
    busy = Stand("c", Phase.BUSY)  # being answered: never reclaimed
    fill(state, b1, a1, a2, busy, limit=4)
    assert state.admit(Stand("z", Phase.NEW), 4)  # type: ignore[arg-type]
    assert a1.transport.closed  # a holds two: its oldest goes
    assert a1.transport.written.startswith(b"HTTP/1.1 503 ")
    assert not any(c.transport.closed for c in (a2, b1, busy))


def test_503_when_nothing_can_be_reclaimed() -> None:
    state = ServerState()
    busy = [Stand("a", Phase.BUSY) for _ in range(2)]
    fill(state, *busy, limit=2)
    assert not state.admit(Stand("b", Phase.NEW), 2)  # type: ignore[arg-type]
    # Head-senders only of the newcomer's own address (no more than it holds): no shuffling.
    state = ServerState()
    mine = [Stand("a", Phase.HEAD) for _ in range(2)]
    fill(state, *mine, limit=2)
    assert not state.admit(Stand("a", Phase.NEW), 2)  # type: ignore[arg-type]
    assert not any(connection.transport.closed for connection in mine)
    assert state.refused == 1
