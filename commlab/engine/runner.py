"""The engine: runs a protocol on a batch of instances, in one process or with each player apart.

:func:`run` calls the players in the order P_k, ..., P_1 each round, giving each only its own input,
the board so far and the public coins, and writes what it says through the metered
:class:`~commlab.engine.blackboard.Blackboard`. :func:`audit_isolation` runs every player in its own
process, so that any state players share outside the board (module globals, class attributes) is
cut, and checks that the transcript is unchanged.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from commlab.engine.blackboard import Blackboard, BoardView
from commlab.engine.ir import Message, RunResult, Transcript
from commlab.engine.protocol import Protocol, PublicCoins
from commlab.errors import InvalidParameter, IsolationViolation

__all__ = ["audit_isolation", "batch_size", "run"]


def batch_size(inputs: Sequence[Any]) -> int:
    """The common leading dimension of every player's input (arrays, or mappings/tuples of them)."""

    def leading(x: Any) -> list[int]:
        if isinstance(x, np.ndarray):
            return [x.shape[0]] if x.ndim else []
        if isinstance(x, Mapping):
            return [n for v in x.values() for n in leading(v)]
        if isinstance(x, (tuple, list)):
            return [n for v in x for n in leading(v)]
        return []

    sizes = {n for x in inputs for n in leading(x)}
    if len(sizes) != 1:
        raise InvalidParameter(
            f"every player's input must be arrays with the same batch (first) axis; found {sizes}"
        )
    return sizes.pop()


class _LocalPlayer:
    """A player run in the engine's own process."""

    def __init__(self, protocol: Protocol, player: int, own: Any, coins: PublicCoins):
        self.protocol, self.player, self.own, self.coins = protocol, player, own, coins
        self.memory: dict = {}

    def speak(self, round: int, board: tuple[Message, ...]):
        view = BoardView(board)
        return self.protocol.speak(self.player, round, self.own, view, self.coins, self.memory)

    def close(self) -> None:
        pass


def _player_process(conn, protocol: Protocol, player: int, own: Any, coins: PublicCoins) -> None:
    """Body of an isolated player: it knows its input and what the parent sends of the board."""
    board: list[Message] = []
    memory: dict = {}
    while True:
        request = conn.recv()
        if request is None:
            return
        round, new_messages = request
        board.extend(new_messages)
        try:
            said = protocol.speak(player, round, own, BoardView(tuple(board)), coins, memory)
            conn.send(("ok", said))
        except Exception:  # reported to the parent, which raises IsolationViolation
            conn.send(("error", traceback.format_exc(limit=4)))


class _IsolatedPlayer:
    """A player in its own spawned process, kept for the whole run (its memory lives there)."""

    def __init__(self, protocol: Protocol, player: int, own: Any, coins: PublicCoins):
        self.player = player
        self._conn, child = mp.get_context("spawn").Pipe()
        self._process = mp.get_context("spawn").Process(
            target=_player_process, args=(child, protocol, player, own, coins), daemon=True
        )
        self._process.start()
        self._sent = 0

    def speak(self, round: int, board: tuple[Message, ...]):
        self._conn.send((round, board[self._sent :]))
        self._sent = len(board)
        status, said = self._conn.recv()
        if status == "error":
            last = said.strip().splitlines()[-1]
            raise IsolationViolation(
                f"round {round}, P_{self.player} failed when run apart from the other players "
                f"({last}); it relies on state shared outside the board"
            )
        return said

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


def _run_board(protocol: Protocol, inputs: Sequence[Any], seed: int, isolated: bool) -> Transcript:
    spec = protocol.spec
    if len(inputs) != spec.k:
        raise InvalidParameter(
            f"protocol {spec.name!r} has k = {spec.k} players but got {len(inputs)} inputs"
        )
    board = Blackboard(spec, batch_size(inputs))
    coins = PublicCoins(int(seed))
    make = _IsolatedPlayer if isolated else _LocalPlayer
    players = {j: make(protocol, j, inputs[j - 1], coins) for j in spec.speaking_order}
    try:
        for round, player in spec.turns:
            said = players[player].speak(round, board.view().messages)
            board.write(round, player, said)
    finally:
        for p in players.values():
            p.close()
    return board.transcript()


def run(
    protocol: Protocol,
    inputs: Sequence[Any],
    *,
    seed: int = 0,
    truth: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
    isolated: bool = False,
) -> RunResult:
    """Run ``protocol`` on a batch of instances and meter every bit.

    Parameters
    ----------
    protocol : Protocol
        What the players say and how the output is read.
    inputs : sequence of length k
        ``inputs[j-1]`` is P_j's input: an array (or a mapping/tuple of arrays) whose first axis is
        the batch of B instances.
    seed : int
        Seed of the public coins.
    truth : array of shape (B,), optional
        The correct outputs; when given, the result reports the success rate.
    params : dict, optional
        Problem parameters to carry into the result (``q``, ...).
    isolated : bool
        Run each player in its own process (see :func:`audit_isolation`).

    Returns
    -------
    RunResult

    Raises
    ------
    ProtocolViolation
        If a player writes a message over budget, out of turn or not a bit string.
    InvalidParameter
        If the inputs do not match the protocol's k or have different batch sizes.
    """
    transcript = _run_board(protocol, inputs, seed, isolated)
    output = protocol.decode(transcript.message(protocol.spec.rounds, 1))
    return RunResult(transcript, output, seed, truth, dict(params or {}))


def audit_isolation(protocol: Protocol, inputs: Sequence[Any], *, seed: int = 0) -> Transcript:
    """Check that players communicate only through the board.

    Runs the protocol twice: once in this process, once with every player in its own process that
    receives only its input, the (serialised) board and the public coins. The transcripts must be
    identical bit for bit.

    Returns
    -------
    Transcript
        The (common) transcript.

    Raises
    ------
    IsolationViolation
        Naming the first round, player and instance where the runs differ, or the player that
        failed when cut off.
    """
    ordinary = _run_board(protocol, inputs, seed, isolated=False)
    apart = _run_board(protocol, inputs, seed, isolated=True)
    differs = ordinary.first_difference(apart)
    if differs is not None:
        round, player, instance = differs
        raise IsolationViolation(
            f"protocol {protocol.spec.name!r}: round {round}, P_{player}, instance {instance} "
            "writes something else when the players run apart; it reads state shared outside "
            "the board"
        )
    return ordinary
