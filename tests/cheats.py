"""Protocols that leak information outside the board, one per leak the engine or the audit must
catch (issue 10 §4). Each one "works" on the engine before the fix.

They live in an importable module so that isolated players (spawned processes) can load them.
"""

import os

import numpy as np

from commlab import Bits, Protocol, ProtocolSpec

_stash: dict = {}  # module state every in-process player can reach


def chi(own: dict) -> np.ndarray:
    """P_2's indicator χ_2 of which vertices of V_2 lead to V² (k = 2), shape (B, q)."""
    rows = np.arange(len(own["start"]))[:, None]
    return own["in_second"][rows, own["edges"]].astype(np.uint8)


def second_vertex(own: dict) -> np.ndarray:
    """v_2 = E_1(v), which P_1 knows."""
    return own["edges"][np.arange(len(own["start"])), own["start"]]


class OneBitChasing(Protocol):
    """Base of the pointer-chasing cheats: k = 2, R = 1, s = 1 (an honest protocol with these
    parameters answers instance b right about half the time)."""

    spec = ProtocolSpec("one-bit", k=2, rounds=1, max_bits=1)

    def p1_answer(self, own, board, coins):
        return own["in_second"][np.arange(len(own["start"])), second_vertex(own)].astype(np.uint8)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            return np.zeros((len(own["start"]), 1), dtype=np.uint8)
        return self.p1_answer(own, board, coins)[:, None]


class AcrossTheBatch(OneBitChasing):
    """P_2 writes instance 0's χ_2 into the message slots of instances 1..q; P_1 reads instance 0's
    answer from the slot of v_2 + 1 (issue 10 §4, first bullet)."""

    def speak(self, player, round, own, board, coins, memory):
        batch = len(own["start"])
        if player == 2:
            bits = np.zeros((batch, 1), dtype=np.uint8)
            secret = chi(own)[0]
            bits[1 : len(secret) + 1, 0] = secret[: batch - 1]
            return bits
        answer = self.p1_answer(own, board, coins)
        answer[0] = board.message(1, 2).bits[second_vertex(own)[0] + 1, 0]
        return answer[:, None]


class LengthCarriesATrit(Protocol):
    """Equality on {0, 1, 2} with s = 1: P_2 posts "", "0" or "1" and the length tells them apart."""

    spec = ProtocolSpec("trit-equality", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            return Bits((own == 2).astype(np.uint8)[:, None], (own > 0).astype(np.int64))
        posted = board.message(1, 2)
        theirs = np.where(posted.lengths == 0, 0, 1 + posted.bits[:, 0])
        return (theirs == own).astype(np.uint8)[:, None]


class LengthFromAStash(Protocol):
    """The same trick through a length rule that reads what P_2 stashed in module state in round 1:
    in round 2, P_2's message is as long as the rule (fed by the stash) says."""

    spec = ProtocolSpec("trit-equality-stash", k=2, rounds=2, max_bits=1)

    def message_length(self, round, player, board, coins, memory):
        return (_stash["trit"] > 0).astype(np.int64) if (round, player) == (2, 2) else 1

    def speak(self, player, round, own, board, coins, memory):
        if round == 1:
            if player == 2:
                _stash["trit"] = own
            return np.zeros((len(own), 1), dtype=np.uint8)
        if player == 2:
            return Bits((own == 2).astype(np.uint8)[:, None], (own > 0).astype(np.int64))
        posted = board.message(2, 2)
        theirs = np.where(posted.lengths == 0, 0, 1 + posted.bits[:, 0])
        return (theirs == own).astype(np.uint8)[:, None]


class OnSelf(OneBitChasing):
    """P_2 stores χ_2 on the protocol object; P_1 reads it there."""

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            self.secret = chi(own)
        return super().speak(player, round, own, board, coins, memory)

    def p1_answer(self, own, board, coins):
        secret = getattr(self, "secret", None)
        if secret is None:
            return super().p1_answer(own, board, coins)
        return secret[np.arange(len(secret)), second_vertex(own)]


class InTheInput(OneBitChasing):
    """P_2 overwrites the partition it shares with P_1 (one array) by χ_2, in place; P_1 then reads
    the answer at v_2."""

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            own["in_second"][...] = chi(own).astype(bool)
        return super().speak(player, round, own, board, coins, memory)


class RaisesItsBudget(OneBitChasing):
    """P_2 raises s to q mid-run with object.__setattr__ and posts χ_2 whole."""

    def __init__(self):
        self.spec = ProtocolSpec("one-bit", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            object.__setattr__(self.spec, "max_bits", own["in_second"].shape[1])
            return chi(own)
        return super().speak(player, round, own, board, coins, memory)


class InTheEnvironment(Protocol):
    """XOR of 8-bit words with s = 1: P_2 leaves its word in os.environ."""

    spec = ProtocolSpec("environment", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            os.environ["COMMLAB_TEST_STASH"] = ",".join(map(str, own))
            return np.zeros((len(own), 1), dtype=np.uint8)
        theirs = np.array(os.environ.get("COMMLAB_TEST_STASH", "0").split(","), dtype=np.int64)
        return ((own ^ theirs) & 1).astype(np.uint8)[:, None]


class Masked(Protocol):
    """P_2 posts whole bytes in a fully masked MaskedArray of width 1; P_1 reads the byte back."""

    spec = ProtocolSpec("masked", k=2, rounds=1, max_bits=1)

    def payload(self, own):
        return np.ma.MaskedArray(own[:, None].astype(np.int64), mask=True)

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            return self.payload(own)
        return (board.message(1, 2).bits[:, 0] == own).astype(np.uint8)[:, None]


class Liar(np.ndarray):
    """An array that says its values lie in 0..1, whatever they are."""

    def min(self, *args, **kwargs):
        return 0

    def max(self, *args, **kwargs):
        return 1


class LyingArray(Masked):
    def payload(self, own):
        return own[:, None].astype(np.int64).view(Liar)


class RewritesTheBoard(Protocol):
    """P_2 posts 8 zero bits in round 1; in round 2, P_1 rewrites them with its input, unmetered,
    and P_2 reads them back."""

    spec = ProtocolSpec("rewrite", k=2, rounds=2, max_bits=8)

    def message_length(self, round, player, board, coins, memory):
        return 8 if (round, player) in ((1, 2), (2, 2)) else 1

    def speak(self, player, round, own, board, coins, memory):
        batch = len(own)
        if (round, player) == (1, 2):
            return np.zeros((batch, 8), dtype=np.uint8)
        if player == 1:
            posted = board.message(1, 2).bits
            target = posted if posted.base is None else posted.base
            target.flags.writeable = True
            posted[:, 0] = own
            return np.zeros((batch, 1), dtype=np.uint8)
        return np.repeat(board.message(1, 2).bits[:, :1], 8, axis=1)


class ShrinksTheCount(Protocol):
    """P_2 posts 24 bits; P_1 sets the length of that message to 1 with object.__setattr__."""

    spec = ProtocolSpec("shrink", k=2, rounds=1, max_bits=24)

    def message_length(self, round, player, board, coins, memory):
        return 24 if player == 2 else 1

    def speak(self, player, round, own, board, coins, memory):
        batch = len(own)
        if player == 2:
            return np.ones((batch, 24), dtype=np.uint8)
        object.__setattr__(board.message(1, 2), "lengths", np.ones(batch, dtype=np.int64))
        return np.zeros((batch, 1), dtype=np.uint8)


class DecodesAStash(Protocol):
    """Equality on bytes with s = 1: decode reads both inputs from module state."""

    spec = ProtocolSpec("decode-stash", k=2, rounds=1, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        _stash[player] = own
        return np.zeros((len(own), 1), dtype=np.uint8)

    def decode(self, message):
        if 1 in _stash and 2 in _stash:
            return (_stash[1] == _stash[2]).astype(np.int64)
        return np.zeros(len(message.bits), dtype=np.int64)


class ThroughTheBase(OneBitChasing):
    """P_1 follows own["edges"].base to the whole edge array and computes the path alone."""

    def p1_answer(self, own, board, coins):
        whole = own["edges"].base
        if whole is None or whole.ndim != 3:
            return super().p1_answer(own, board, coins)
        rows = np.arange(len(own["start"]))
        end = whole[rows, 1, whole[rows, 0, own["start"]]]
        return own["in_second"][rows, end].astype(np.uint8)


class ThroughTheCoins(OneBitChasing):
    """P_2 leaves χ_2 on the coins object; P_1 finds it there."""

    def speak(self, player, round, own, board, coins, memory):
        if player == 2:
            coins.secret = chi(own)
        return super().speak(player, round, own, board, coins, memory)

    def p1_answer(self, own, board, coins):
        secret = getattr(coins, "secret", None)
        if secret is None:
            return super().p1_answer(own, board, coins)
        return secret[np.arange(len(secret)), second_vertex(own)]


class PrivateRandom(Protocol):
    """Each player posts one private random bit: legitimate randomness."""

    spec = ProtocolSpec("private-random", k=2, rounds=2, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        return coins.private_integers(f"bit {round}", 2, 1).astype(np.uint8)


_generator = np.random.default_rng(0)  # one generator every in-process player draws from


class SharedGenerator(Protocol):
    """Each player posts a bit drawn from a module-level generator: in one process P_1's draw
    depends on how many draws P_2 made, a channel outside the board."""

    spec = ProtocolSpec("shared-generator", k=2, rounds=2, max_bits=1)

    def speak(self, player, round, own, board, coins, memory):
        return _generator.integers(0, 2, size=(len(own), 1)).astype(np.uint8)
