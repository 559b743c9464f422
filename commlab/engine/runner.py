"""The engine: runs a protocol on a batch of instances, in one process or with each player apart.

:func:`run` asks the protocol's public length rule how long each message is, calls the players in
the order P_k, ..., P_1 each round — each with its own copy of the protocol, of its input and of
the coins, the board so far and its private memory — and writes what they say through the metered
:class:`~commlab.engine.blackboard.Blackboard`. The output is decoded from a read-only copy of
P_1's last message by a copy of the protocol that no player has touched. With ``isolated=True``
every player, and the public side (lengths and output), runs in a process of its own.
:func:`combine` joins the results of chunks of one run exactly. The checks that a protocol uses no
channel but the board live in :mod:`commlab.engine.audit`.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from commlab._validate import check_seed
from commlab.engine.blackboard import Blackboard
from commlab.engine.ir import ProtocolSpec, RunResult, Transcript
from commlab.engine.protocol import Protocol, PublicCoins
from commlab.errors import InvalidParameter, IsolationViolation, ProtocolViolation

__all__ = ["batch_size", "check_seed", "combine", "run", "take"]

# The environment this process started with: what isolated players run in, whatever a run in this
# process may have written to os.environ since.
_CLEAN_ENVIRONMENT = dict(os.environ)


def _leaves(x: Any) -> list[np.ndarray]:
    if isinstance(x, np.ndarray):
        return [x] if x.ndim else []
    if isinstance(x, Mapping):
        return [a for v in x.values() for a in _leaves(v)]
    if isinstance(x, (tuple, list)):
        return [a for v in x for a in _leaves(v)]
    return []


def batch_size(inputs: Sequence[Any]) -> int:
    """The common leading dimension of every player's input (arrays, or mappings/tuples of them).

    Raises
    ------
    InvalidParameter
        If the inputs hold no arrays, disagree on the batch size, or hold no instance.
    """
    sizes = {a.shape[0] for x in inputs for a in _leaves(x)}
    if len(sizes) != 1:
        raise InvalidParameter(
            f"every player's input must be arrays with the same batch (first) axis; found {sizes or 'none'}"
        )
    size = sizes.pop()
    if size == 0:
        raise InvalidParameter("the batch is empty (0 instances); give at least one instance")
    return size


def take(x: Any, index: np.ndarray) -> Any:
    """Instances ``index`` of an input (arrays, or mappings/tuples/lists of them), as copies."""
    if isinstance(x, np.ndarray):
        return np.array(x[index]) if x.ndim else x
    if isinstance(x, Mapping):
        return {key: take(v, index) for key, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(take(v, index) for v in x)
    return copy.deepcopy(x)


def _own_copy(x: Any) -> Any:
    """A player's private copy of its input: plain arrays that own their data (no view of anything
    another player holds)."""
    if isinstance(x, np.ndarray):
        return np.array(x, copy=True, subok=False)
    if isinstance(x, Mapping):
        return {key: _own_copy(v) for key, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_own_copy(v) for v in x)
    return copy.deepcopy(x)


class _Here:
    """A player (or, with ``player=None``, the public side: lengths and output) run in the engine's
    own process, with its own copy of the protocol."""

    def __init__(self, pristine: Protocol, player: int | None, own: Any, seed: int, ids: np.ndarray):
        self.protocol, self.pristine = copy.deepcopy(pristine), pristine
        self.player, self.own = player, own
        self.coins = PublicCoins(seed, ids, player)
        self.memory: dict = {}

    def speak(self, round: int, board: Blackboard):
        return self.protocol.speak(self.player, round, self.own, board.view(), self.coins, self.memory)

    def length(self, round: int, player: int, board: Blackboard):
        return self.protocol.message_length(round, player, board.view(), self.coins, self.memory)

    def decode(self, board: Blackboard):
        return copy.deepcopy(self.pristine).decode(board.last())

    def close(self) -> None:
        pass


def _serve(conn, protocol: bytes, spec: ProtocolSpec, batch: int, player, own: bytes, seed, ids, env) -> None:
    """Body of an isolated process: it knows its input (none for the public side), what the parent
    sends of the board, and the environment the parent started with."""
    os.environ.clear()
    os.environ.update(env)
    here = _Here(pickle.loads(protocol), player, pickle.loads(own), seed, ids)
    replica = Blackboard(spec, batch)  # this process's copy of the board, fed by the parent
    while True:
        request = conn.recv()
        if request is None:
            return
        kind, round, speaker, new = request
        try:
            replica.extend(new)
            if kind == "speak":
                said = here.speak(round, replica)
            elif kind == "length":
                said = here.length(round, speaker, replica)
            else:
                said = here.decode(replica)
            conn.send(("ok", said))
        except Exception:  # reported to the parent, which raises IsolationViolation
            conn.send(("error", traceback.format_exc(limit=4)))


def _isolated_context():
    """Where isolated players start: forked from a fork server that was itself started as a fresh
    interpreter and only imported commlab — so each player begins from a clean import, without
    this process's state, and without paying for the imports again."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["commlab.engine.runner"])
    return context


class _Apart:
    """A player (or the public side) in its own spawned process, kept for the whole run; it is sent
    each message of the board once."""

    def __init__(
        self, protocol: bytes, player: int | None, own: Any, seed: int, ids: np.ndarray, spec, batch
    ):
        self.player = player
        context = _isolated_context()
        self._conn, child = context.Pipe()
        args = (child, protocol, spec, batch, player, pickle.dumps(own), seed, ids, _CLEAN_ENVIRONMENT)
        self._process = context.Process(target=_serve, args=args, daemon=True)
        self._process.start()
        self._sent = 0

    def _ask(self, kind: str, round: int, speaker: int, board: Blackboard):
        new = board.records(self._sent)
        self._sent += len(new)
        self._conn.send((kind, round, speaker, new))
        status, said = self._conn.recv()
        if status == "error":
            last = said.strip().splitlines()[-1]
            who = "the public side (message_length/decode)" if self.player is None else f"P_{self.player}"
            raise IsolationViolation(
                f"round {round}, {who} failed when run apart from the players ({last}); it relies on "
                "state shared outside the board"
            )
        return said

    def speak(self, round: int, board: Blackboard):
        return self._ask("speak", round, self.player, board)

    def length(self, round: int, player: int, board: Blackboard):
        return self._ask("length", round, player, board)

    def decode(self, board: Blackboard):
        return self._ask("decode", board.spec.rounds, 1, board)

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


def play(
    pristine: Protocol, spec: ProtocolSpec, inputs: Sequence[Any], seed: int, ids: np.ndarray, isolated: bool
) -> tuple[Transcript, np.ndarray]:
    """One run: the transcript and the decoded output.

    ``pristine`` is a copy of the protocol taken before anything ran; it is never handed to a
    player: every player, the public side and the decoder get copies of it (pickled into their own
    processes when ``isolated``)."""
    with _environment_kept(spec.name):
        return _play(pristine, spec, inputs, seed, ids, isolated)


@contextmanager
def _environment_kept(name: str):
    """Refuse a run that changed ``os.environ`` (and put it back): the environment is one object
    every in-process player shares, so it is a channel outside the board."""
    environment = dict(os.environ)
    try:
        yield
    finally:
        changed = sorted(set(environment.items()) ^ set(os.environ.items()))
        if changed:
            os.environ.clear()
            os.environ.update(environment)
    if changed:
        raise IsolationViolation(
            f"protocol {name!r}: os.environ changed during the run ({changed[0][0]!r}); the environment "
            "is shared by every player, so it is a channel outside the board"
        )


def _play(pristine, spec, inputs, seed, ids, isolated) -> tuple[Transcript, np.ndarray]:
    batch = batch_size(inputs)
    board = Blackboard(spec, batch)
    if isolated:
        pickled = pickle.dumps(pristine)
        public = _Apart(pickled, None, None, seed, ids, spec, batch)
        players = {j: _Apart(pickled, j, inputs[j - 1], seed, ids, spec, batch) for j in spec.speaking_order}
    else:
        public = _Here(pristine, None, None, seed, ids)
        players = {j: _Here(pristine, j, _own_copy(inputs[j - 1]), seed, ids) for j in spec.speaking_order}
    try:
        for round, player in spec.turns:
            length = board.public_lengths(round, player, public.length(round, player, board))
            if length == 0 if isinstance(length, int) else not length.any():
                board.silent(round, player)  # nothing to say: the player is not called
            else:
                board.write(round, player, players[player].speak(round, board), length)
        output = public.decode(board)
    finally:
        for p in (public, *players.values()):
            p.close()
    output = (
        np.array(output, copy=True, subok=False) if isinstance(output, np.ndarray) else np.asarray(output)
    )
    if output.shape != (batch,):
        raise ProtocolViolation(
            f"protocol {spec.name!r}: decode must give one output per instance, got shape {output.shape}"
        )
    return board.transcript(), output


def declared_spec(protocol: Protocol) -> ProtocolSpec:
    """The protocol's (k, R, s), copied before anything runs: what the board holds it to."""
    spec = getattr(protocol, "spec", None)
    if not isinstance(spec, ProtocolSpec):
        raise InvalidParameter(f"a protocol must declare spec = ProtocolSpec(...), got {spec!r}")
    return ProtocolSpec(spec.name, spec.k, spec.rounds, spec.max_bits)


def check_inputs(spec: ProtocolSpec, inputs: Sequence[Any]) -> int:
    """The batch size, after checking that there is one input per player."""
    if len(inputs) != spec.k:
        raise InvalidParameter(
            f"protocol {spec.name!r} has k = {spec.k} players but got {len(inputs)} inputs"
        )
    return batch_size(inputs)


def instance_numbers(ids: object, batch: int) -> np.ndarray:
    """The instances' numbers (default ``0..batch-1``): what their coins are drawn from."""
    if ids is None:
        return np.arange(batch, dtype=np.uint64)
    numbers = np.asarray(ids)
    if numbers.shape != (batch,) or numbers.dtype.kind not in "ui" or (numbers.size and numbers.min() < 0):
        raise InvalidParameter(
            f"instance_ids must be {batch} non-negative integers, got {numbers.dtype}{numbers.shape}"
        )
    return numbers.astype(np.uint64)


def check_truth(truth: object, batch: int) -> np.ndarray | None:
    """The true outputs as an array of shape ``(batch,)`` (never broadcast)."""
    if truth is None:
        return None
    values = np.asarray(truth)
    if values.shape != (batch,):
        raise InvalidParameter(
            f"truth must have shape ({batch},), one answer per instance; got {values.shape}"
        )
    return values


def run(
    protocol: Protocol,
    inputs: Sequence[Any],
    *,
    seed: int = 0,
    truth: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
    isolated: bool = False,
    instance_ids: np.ndarray | None = None,
) -> RunResult:
    """Run ``protocol`` on a batch of instances and meter every bit.

    Parameters
    ----------
    protocol : Protocol
        What the players say, how long each message is, and how the output is read.
    inputs : sequence of length k
        ``inputs[j-1]`` is P_j's input: an array (or a mapping/tuple of arrays) whose first axis is
        the batch of B ≥ 1 instances. Each player gets its own copy.
    seed : int
        Seed of the coins, an integer in 0..2⁶³ − 1.
    truth : array of shape (B,), optional
        The correct outputs; when given, the result reports the success rate.
    params : dict, optional
        Problem parameters to carry into the result (``q``, ...).
    isolated : bool
        Run each player, and the public side (lengths, output), in its own process.
    instance_ids : int array (B,), optional
        The instances' numbers, from which their coins are drawn (default ``0..B-1``); a chunk of a
        longer run passes its instances' places in the whole.

    Returns
    -------
    RunResult

    Raises
    ------
    ProtocolViolation
        If a player writes a message over budget, of another length than the public rule says, out
        of turn or not a bit string, or decode does not give one output per instance.
    IsolationViolation
        If a player changed ``os.environ`` (a channel outside the board), or with ``isolated``, if a
        player fails when run apart.
    InvalidParameter
        If the inputs do not match the protocol's k, have different or empty batches, or ``seed``,
        ``truth`` or ``instance_ids`` are malformed.

    Examples
    --------
    >>> from commlab.protocols import Chase
    >>> from commlab.problems.pointer_chasing import PointerChasing
    >>> inst = PointerChasing.random(q=8, k=2, batch=3, seed=0)
    >>> run(Chase(8, 2), inst.player_inputs(), truth=inst.answer()).success
    1.0
    """
    seed = check_seed(seed)
    spec = declared_spec(protocol)
    batch = check_inputs(spec, inputs)
    ids = instance_numbers(instance_ids, batch)
    truth = check_truth(truth, batch)
    transcript, output = play(copy.deepcopy(protocol), spec, inputs, seed, ids, isolated)
    return RunResult(transcript, output, seed, truth, dict(params or {}))


def combine(results: Sequence[RunResult], extras: dict[str, Any] | None = None) -> RunResult:
    """One result for the chunks of one run, in order: outputs and truths concatenated, bit counts
    added exactly; the transcript is kept only when there is a single chunk.

    Raises
    ------
    InvalidParameter
        If there is no chunk, or the chunks ran different protocols or seeds.
    """
    if not results:
        raise InvalidParameter("nothing to combine: no chunk was run")
    first = results[0]
    if any(r.spec != first.spec or r.seed != first.seed for r in results):
        raise InvalidParameter("chunks of one run must share the protocol and the seed")
    counts = first.counts
    for r in results[1:]:
        counts = counts.combine(r.counts)
    truth = None if first.truth is None else np.concatenate([r.truth for r in results])
    return RunResult(
        first.transcript if len(results) == 1 else None,
        np.concatenate([r.output for r in results]),
        first.seed,
        truth,
        dict(first.params),
        dict(extras or first.extras),
        counts,
        first.spec,
    )
