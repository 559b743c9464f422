"""The round-per-layer protocol shared by every layer-stack reduction (SHT24 §5, App. E.2).

Round ℓ computes layer ℓ. Each player, in speaking order, reads the layer's boundary state at the end
of the previous block from the board (the initial state for P_k), runs the layer over its own block
on the outputs of layer ℓ − 1 it kept from its previous turn, and posts the exact bit pattern of the
state at its block's end. In round L, P_1 — whom nobody reads after — posts the model's prediction
at the last position instead: that is the protocol's output. Any stack of
:class:`~commlab.models.layer.Layer` kinds compiles this way with no new code.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from commlab.engine.ir import ProtocolSpec
from commlab.engine.protocol import Protocol
from commlab.errors import InvalidParameter, UnsupportedModel
from commlab.io.codecs import NumberFormat, encode
from commlab.models.layer import Layer
from commlab.models.model import SequenceModel
from reductions.registry import Reduction

__all__ = ["LayerwiseProtocol", "LayerwiseReduction", "check_blocks", "split_by_blocks"]


def check_blocks(blocks: list[tuple[int, int]], length: int | None = None) -> list[str]:
    """Every problem with a player partition: blocks must be non-empty, contiguous, in speaking order
    (P_k's block first, leftmost) and start at position 0 (and end at ``length`` when given)."""
    problems = []
    if not blocks:
        return ["the partition needs at least one block"]
    if blocks[0][0] != 0:
        problems.append(f"the first block (P_k's) must start at position 0, got {blocks[0][0]}")
    for i, (start, end) in enumerate(blocks):
        if end <= start:
            problems.append(f"block {i} [{start}, {end}) is empty")
        if i and start != blocks[i - 1][1]:
            problems.append(f"block {i} starts at {start}, not where block {i - 1} ends ({blocks[i - 1][1]})")
    if length is not None and blocks[-1][1] != length:
        problems.append(f"the blocks end at {blocks[-1][1]} but the sequence has {length} positions")
    return problems


def split_by_blocks(tokens: np.ndarray, blocks: list[tuple[int, int]]) -> list[np.ndarray]:
    """Each player's tokens, P_1 first (the order :func:`commlab.run` takes inputs in)."""
    problems = check_blocks(blocks, np.asarray(tokens).shape[1])
    if problems:
        raise InvalidParameter("bad player partition: " + "; ".join(problems))
    return [np.ascontiguousarray(tokens[:, start:end]) for start, end in reversed(blocks)]


class LayerwiseProtocol(Protocol):
    """A layer-stack model as a (k, R = L, s) protocol; s is the largest state any player posts (or
    the prediction's width, if larger). Built by a reduction's ``compile``.

    ``message_format`` (optional) makes players round real-valued states to a coarser format before
    posting them: the protocol then no longer follows the model exactly, which is how
    :func:`commlab.analysis.measure.effective_bits` finds how many bits the messages really need.
    """

    def __init__(
        self,
        name: str,
        model: SequenceModel,
        blocks: list[tuple[int, int]],
        message_format: NumberFormat | None = None,
    ):
        self.model, self.blocks = model, [tuple(b) for b in blocks]
        self.message_format = message_format
        k, layers = len(blocks), len(model.layers)
        posted = [
            layer.state_numbers * (self._coarser(layer) or layer.state_format).bits
            for i, layer in enumerate(model.layers)
            if k > 1 or i < layers - 1
        ]
        self.spec = ProtocolSpec(name, k, layers, max([model.output_format.bits, *posted]))

    def _coarser(self, layer) -> NumberFormat | None:
        """The coarser format this layer's real-valued states are rounded to and posted in, or
        ``None`` when the layer posts its state exactly in its own format."""
        return self.message_format if layer.state_format.dtype.kind == "f" else None

    def message_length(self, round, player, board, coins, memory):
        """The layer's whole boundary state (in the coarser format, if any); the prediction from P_1
        in round L. Fixed by the model and the round alone."""
        if player == 1 and round == self.spec.rounds:
            return self.model.output_format.bits
        layer = self.model.layers[round - 1]
        return layer.state_numbers * (self._coarser(layer) or layer.state_format).bits

    def speak(self, player, round, own, board, coins, memory):
        layer = self.model.layers[round - 1]
        fmt = self._coarser(layer)
        x = memory["x"] if "x" in memory else self.model.embed(own, self.blocks[self.spec.k - player][0])
        if player == self.spec.k:
            state = layer.initial_state(x.shape[1])
        else:
            state = layer.decode_state(board.message(round, player + 1).bits, fmt)
        scan = layer.scan(x, state)
        memory["x"] = scan.outputs
        if player == 1 and round == self.spec.rounds:
            prediction = self.model.predict_step(scan.outputs[-1])
            return encode(self.model.output_format, prediction[:, None] + 1)
        return layer.encode_state(scan.state, fmt)

    def decode(self, message):
        """The prediction at the last position (−1 for ⊥)."""
        return super().decode(message) - 1

    def expected_messages(self, tokens: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """What the model's own forward pass puts in each turn ``(round, player)``: the exact bits of
        layer ``round``'s state at the end of the player's block, and P_1's prediction last."""
        model, k = self.model, self.spec.k
        forward = model.forward(tokens, record=[end - 1 for _, end in self.blocks])
        expected = {}
        for round in range(1, self.spec.rounds + 1):
            for player in range(k, 0, -1):
                end = self.blocks[k - player][1]
                if (round, player) == (self.spec.rounds, 1):
                    expected[round, player] = encode(model.output_format, forward.predictions[:, -1:] + 1)
                else:
                    layer = model.layers[round - 1]
                    expected[round, player] = layer.encode_state(forward.recorded[round - 1][end - 1])
        return expected


class LayerwiseReduction(Reduction):
    """A reduction for stacks of layer kinds: subclasses declare ``name``, ``family``, ``bound``,
    ``references`` and the ``layer_kinds`` they accept; validation, (R, s) and compilation are shared.
    R is the number of layers and s the largest state any player posts (or the answer's width)."""

    layer_kinds: ClassVar[frozenset[str]] = frozenset()

    def validate(self, model):
        wrong_type = self.expects(model, SequenceModel)
        if wrong_type:
            return wrong_type
        problems = [] if model.layers else ["the model has no layers"]
        kinds = ", ".join(sorted(self.layer_kinds))
        for i, layer in enumerate(model.layers):
            kind = getattr(layer, "kind", type(layer).__name__)
            if not isinstance(layer, Layer) or kind not in self.layer_kinds:
                problems.append(f"layer {i} is {kind!r}, not one of the kinds {self.name} compiles ({kinds})")
        return problems

    def rounds(self, model):
        return len(model.layers)

    def bits_per_message(self, model, k, blocks=None):
        return LayerwiseProtocol(self.name, model, [(i, i + 1) for i in range(k)]).spec.max_bits

    def compile(self, model, blocks):
        if model.positions is not None and blocks[-1][1] > len(model.positions):
            raise UnsupportedModel(
                f"{self.name}: the partition covers {blocks[-1][1]} positions but {model.name} takes "
                f"sequences of at most {len(model.positions)} tokens (its positional embeddings); "
                "build it for this length"
            )
        return LayerwiseProtocol(self.name, model, blocks)
