"""Longformer models as (k, L, s) protocols (docs/theory.md §6, third row; SHT24 Cor 5.4).

Round ℓ computes layer ℓ. Each player, in speaking order, reads from the board the window its
predecessor handed on — keys and values of the last w − 1 positions before its block — and the keys
and values of every earlier global position, which their owners posted earlier in this round. It runs
layer ℓ over its block (on its outputs of layer ℓ − 1) and posts its window edge and its *own*
block's global positions; nobody reposts a global. P_1, read by nobody within a round, posts nothing
until round L, where it posts the prediction at the last position. So player j posts
(w − 1 + G_j)·2·H·m·p bits, G_j the global positions of its block: s = O((w + N/(g·k))·m·H·p) for
blocks of N/k positions, and s depends on the partition (``bits_per_message`` needs the blocks).
"""

from __future__ import annotations

import numpy as np

from commlab.engine.ir import ProtocolSpec
from commlab.engine.protocol import Protocol
from commlab.errors import InvalidParameter
from commlab.io.codecs import decode, encode
from commlab.models.longformer import LongformerModel, is_global
from reductions.registry import Reduction, register

__all__ = ["LongformerProtocol", "LongformerReduction", "reduce_longformer"]


def _globals_in(block: tuple[int, int], every: int) -> np.ndarray:
    start, end = block
    positions = np.arange(start, end)
    return positions[is_global(positions, every)]


def _posted_bits(model: LongformerModel, blocks: list[tuple[int, int]]) -> int:
    """s: the answer's bits, and for each player but P_1 its window and its own globals."""
    posted = [model.output_format.bits]
    for layer in model.layers:
        for block in blocks[:-1]:
            count = layer.window - 1 + len(_globals_in(block, layer.globals_every))
            posted.append(count * layer.kv_numbers * model.fmt.bits)
    return max(posted)


class LongformerProtocol(Protocol):
    """A Longformer as a (k, L, s) protocol (module docstring)."""

    def __init__(self, name: str, model: LongformerModel, blocks: list[tuple[int, int]]):
        self.model, self.blocks = model, [tuple(b) for b in blocks]
        self.spec = ProtocolSpec(name, len(blocks), len(model.layers), _posted_bits(model, self.blocks))

    def message_length(self, round, player, board, coins, memory):
        """Public, fixed by the partition: the window edge and the block's own global positions
        (keys and values) from P_k..P_2; nothing from P_1 before the last round, then the answer."""
        if player == 1:
            return self.model.output_format.bits if round == self.spec.rounds else 0
        layer = self.model.layers[round - 1]
        count = layer.window - 1 + len(_globals_in(self.blocks[self.spec.k - player], layer.globals_every))
        return count * layer.kv_numbers * self.model.fmt.bits

    def encode_message(self, window, own: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Window keys, window values, then the block's global keys and values (position order)."""
        fmt, positions = self.model.fmt, sorted(own)
        parts = [*window]
        if positions:
            parts += [np.stack([own[s][i] for s in positions], axis=1) for i in (0, 1)]
        return np.concatenate([encode(fmt, part) for part in parts], axis=1)

    def _decode(self, layer, bits: np.ndarray, block: tuple[int, int]):
        """Inverse of :meth:`encode_message` for a message of the player holding ``block``."""
        fmt, h, m = self.model.fmt, layer.heads, layer.width
        w, positions = layer.window - 1, _globals_in(block, layer.globals_every)
        sizes = [w, w, len(positions), len(positions)]
        parts, offset = [], 0
        for count in sizes:
            width = count * h * m * fmt.bits
            values = decode(fmt, bits[:, offset : offset + width], (count, h, m))
            parts.append(values.astype(fmt.dtype, copy=False))
            offset += width
        own = {int(s): (parts[2][:, i], parts[3][:, i]) for i, s in enumerate(positions)}
        return (parts[0], parts[1]), own

    def speak(self, player, round, own, board, coins, memory):
        model = self.model
        # P_1 is silent until the last round, and the engine does not call a silent turn: it
        # catches up on every layer it skipped, from what the board holds of those rounds.
        for layer_round in range(memory.get("done", 0) + 1, round + 1):
            outputs, window, own_globals = self._run_layer(player, layer_round, own, board, memory)
        if player > 1:
            return self.encode_message(window, own_globals)
        return encode(model.output_format, model.predict_step(outputs[-1])[:, None] + 1)

    def _run_layer(self, player, round, own, board, memory):
        """Layer ``round`` over this player's block, from the earlier players' posts of that round."""
        model, k = self.model, self.spec.k
        layer = model.layers[round - 1]
        block = self.blocks[k - player]
        x = memory["x"] if "x" in memory else model.embed(own)
        window, earlier = layer.initial_window(len(own)), {}
        for speaker in range(k, player, -1):  # every earlier player's globals, from the board
            posted, posted_globals = self._decode(
                layer, board.message(round, speaker).bits, self.blocks[k - speaker]
            )
            earlier.update(posted_globals)
            window = posted  # ends as the window of the player just before
        outputs, window, own_globals = layer.run(x, block[0], window, earlier)
        memory["x"], memory["done"] = outputs, round
        return outputs, window, own_globals

    def decode(self, message):
        """The prediction at the last position (−1 for ⊥)."""
        return super().decode(message) - 1

    def expected_messages(self, tokens: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """What the model's own forward pass puts in each turn (window and globals at each block's
        end; nothing from P_1 before the last round, then its prediction)."""
        model, k = self.model, self.spec.k
        forward = model.forward(tokens, self.blocks)
        expected = {}
        for round in range(1, self.spec.rounds + 1):
            for player in range(k, 1, -1):
                window, own = forward.recorded[round - 1][self.blocks[k - player]]
                expected[round, player] = self.encode_message(window, own)
            if round < self.spec.rounds:
                expected[round, 1] = np.zeros((len(tokens), 0), dtype=np.uint8)
            else:
                expected[round, 1] = encode(model.output_format, forward.predictions[:, -1:] + 1)
        return expected


@register
class LongformerReduction(Reduction):
    r"""L-layer Longformer (window w, a global position every g) → (k, R = L, s) protocol,
    s = (w − 1 + G)·2·H·m·p with G the most global positions any of the blocks of P_k..P_2 holds
    (P_1 posts only the answer).

    Notes
    -----
    If the model computes hop_k(X)_N on encoded pointer chasing with probability ≥ 2/3, then
    :math:`L \ge k` or :math:`(w + N/(g k))\, m H p = \Omega(N / k^6)`.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Corollary 5.4. arXiv:2402.09268.
    """

    name = "longformer"
    message_grows_with_n = True
    family = "Longformer transformers (causal window w, global tokens every g)"
    bound = "L ≥ k or s = (w + N/(g·k))·m·H·p = Ω(N/k⁶)  [SHT24 Cor 5.4]"
    references = "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.4 (arXiv:2402.09268)"

    def validate(self, model):
        return self.expects(model, LongformerModel)

    def rounds(self, model):
        return len(model.layers)

    def bits_per_message(self, model, k, blocks=None):
        if blocks is None:
            raise InvalidParameter(
                "a Longformer's s depends on how many global positions each block holds; pass the blocks"
            )
        if len(blocks) != k:
            raise InvalidParameter(f"{len(blocks)} blocks given for k = {k} players")
        return _posted_bits(model, list(blocks))

    def compile(self, model, blocks):
        return LongformerProtocol(self.name, model, blocks)


def reduce_longformer(
    *,
    layers: int = 2,
    heads: int = 2,
    width: int = 32,
    window: int = 8,
    globals_every: int = 64,
    fmt: str = "float32",
    k: int | None = None,
    q: int = 64,
    trials: int = 200,
    seed: int = 0,
    c_value: float = 1.0,
):
    """Build a Longformer (random weights from ``seed``), compile it, run it on encoded pointer
    chasing and report (what ``commlab reduce longformer`` prints). k defaults to L + 1.

    Raises
    ------
    InvalidParameter
        For a window longer than the sequence (N = 2kq + 1), besides the shape checks.

    Examples
    --------
    >>> report = reduce_longformer(layers=1, heads=1, width=2, window=3, globals_every=4, q=4, trials=10)
    >>> report.rounds, report.declared_bits_per_message, report.mismatches  # (3 − 1 + 2)·2·2·32
    (1, 512, 0)
    """
    from commlab.models.longformer import random_longformer_model
    from reductions.experiment import model_params, reduce_on_pointer_chasing

    k = layers + 1 if k is None else k
    n = 2 * k * q + 1
    if isinstance(window, (int, np.integer)) and window > n:
        raise InvalidParameter(
            f"window {window} is longer than the sequence (N = 2kq + 1 = {n}); use window <= {n}"
        )
    model = random_longformer_model(layers, heads, width, window, globals_every, 2 * q + 2, fmt, seed)
    return reduce_on_pointer_chasing(
        model, k=k, q=q, trials=trials, seed=seed, reduction="longformer", c_value=c_value, params=model_params(model)
    )
