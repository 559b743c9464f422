r"""Full softmax attention as a (k, R = L, s) blackboard protocol — and why its s must grow with N.

Round ℓ computes layer ℓ. A player holding positions [start, end) keeps its rows of the residual
stream between turns (BOS, row 0, belongs to P_k, whose block comes first). In its turn of round ℓ
it reads the keys and values of layer ℓ that the players before it posted this round, computes
its own rows' keys and values, posts them, and runs layer ℓ on its rows: the causal softmax of a
row needs exactly the keys and values of every earlier row, and they are all on the board. In round
L, P_1 posts the prediction at the last position instead: the protocol's output.

So R = L, as for a recurrent model, but a message carries a whole block of keys and values:
``s = rows · (d + e) · p`` bits (d key and e value numbers per row, p bits per number) — about
``(N/k)·(d + e)·p``, growing linearly with N. The lower bound (R ≥ k or s = Ω(N/k⁶), docs/theory.md
§5–§6) therefore never binds a transformer: the log-depth construction uses R = 2 + ⌈log₂ k⌉
rounds (fewer than k from k = 6 on; for k ≤ 5 it has R ≥ k and the bound does not apply at all) and
pays with messages far above c·N/(2k⁶).

Exactness: a player runs the model's own operations on arrays of the model's shapes (its rows
filled in, every later row zero, the batch in the model's chunks). A row's result depends only
on the rows before it — later keys get weight exactly 0, and 0·v adds nothing — so the protocol
reproduces the model bit for bit (checked by :meth:`AttentionProtocol.verify_exact` and the
conformance kit). Each player's work is one full layer on the padded arrays: O(N²) per turn.

References
----------
C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic depth."
ICML 2024, §5 and Appendix E (the protocol view of attention; Theorem 4.2 for the construction
it runs). arXiv:2402.09268.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from commlab.engine.ir import ProtocolSpec
from commlab.engine.protocol import Protocol
from commlab.io.codecs import decode, encode
from commlab.models.transformer import Transformer
from reductions.registry import Reduction, register

__all__ = ["AttentionProtocol", "AttentionReduction", "attention_bits_table", "reduce_attention"]


def player_rows(blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Rows of the residual stream each player owns (speaking order): token position t is row
    t + 1, and P_k also owns BOS (row 0)."""
    return [(0 if i == 0 else start + 1, end + 1) for i, (start, end) in enumerate(blocks)]


def _numbers_per_row(model: Transformer) -> list[int]:
    return [layer.key.shape[1] + layer.value.shape[1] for layer in model.layers]


class AttentionProtocol(Protocol):
    """A :class:`~commlab.models.transformer.Transformer` as a (k, R = L, s) protocol; s is the largest
    block of keys and values any player posts (or the prediction's width, if larger)."""

    def __init__(self, name: str, model: Transformer, blocks: list[tuple[int, int]]):
        self.model, self.blocks = model, [tuple(b) for b in blocks]
        self.rows = player_rows(self.blocks)
        k, depth = len(blocks), len(model.layers)
        bits = model.fmt.bits
        posted = [
            (hi - lo) * numbers * bits
            for layer, numbers in enumerate(_numbers_per_row(model))
            for player, (lo, hi) in zip(range(k, 0, -1), self.rows, strict=True)
            if not (player == 1 and layer == depth - 1)
        ]
        self.spec = ProtocolSpec(name, k, depth, max([model.output_format.bits, *posted]))

    def _own(self, player: int) -> tuple[int, int]:
        return self.rows[self.spec.k - player]

    def message_length(self, round, player, board, coins, memory):
        """Public, fixed by the partition: the poster's rows × (key + value numbers) × p bits in
        layer ``round``, and the prediction's width from P_1 in the last round."""
        if player == 1 and round == self.spec.rounds:
            return self.model.output_format.bits
        lo, hi = self._own(player)
        return (hi - lo) * _numbers_per_row(self.model)[round - 1] * self.model.fmt.bits

    def speak(self, player, round, own, board, coins, memory):
        model, a = self.model, self.model.arith
        layer = model.layers[round - 1]
        lo, hi = self._own(player)
        length = self.blocks[-1][1] + 1
        if round == 1:
            tokens = np.asarray(own)
            if player == self.spec.k:
                tokens = np.concatenate([np.full((len(tokens), 1), model.alphabet), tokens], axis=1)
            memory["x"] = np.zeros((len(tokens), length, model.width), dtype=model.fmt.dtype)
            memory["x"][:, lo:hi] = a.add(model.token_embedding[tokens], model.position_embedding[lo:hi])
        x = memory["x"]
        d = layer.key.shape[1]
        keys = np.zeros((*x.shape[:2], d), dtype=x.dtype)
        values = np.zeros((*x.shape[:2], layer.value.shape[1]), dtype=x.dtype)
        for earlier in range(self.spec.k, player, -1):
            first, last = self._own(earlier)
            posted = decode(
                model.fmt, board.message(round, earlier).bits, (last - first, d + values.shape[2])
            )
            keys[:, first:last], values[:, first:last] = posted[..., :d], posted[..., d:]
        after = np.zeros_like(x)
        for part in model.chunks(*x.shape[:2]):
            q, k, v = layer.project(a, x[part])
            keys[part, lo:hi], values[part, lo:hi] = k[:, lo:hi], v[:, lo:hi]
            after[part, lo:hi] = layer.attend(a, x[part], q, keys[part], values[part])[:, lo:hi]
        memory["x"] = after
        if player == 1 and round == self.spec.rounds:
            prediction = model.read_out(after[:, -1])
            return encode(model.output_format, prediction[:, None] + 1)
        block = np.concatenate([keys[:, lo:hi], values[:, lo:hi]], axis=2)
        return encode(model.fmt, block.reshape(len(block), -1))

    def decode(self, message):
        """The prediction at the last position (−1 for ⊥)."""
        return super().decode(message) - 1

    def expected_messages(self, tokens: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """What the model's own forward pass puts in each turn ``(round, player)``: the keys and
        values of the poster's rows in layer ``round``, and P_1's prediction last (checked by
        :func:`reductions.conformance.verify_exact`)."""
        forward = self.model.forward(tokens, keep=True)
        expected = {}
        for round in range(1, self.spec.rounds + 1):
            for player in range(self.spec.k, 0, -1):
                if (round, player) == (self.spec.rounds, 1):
                    expected[round, player] = encode(self.model.output_format, forward.predictions[:, -1:] + 1)
                    continue
                lo, hi = self._own(player)
                block = np.concatenate(
                    [forward.keys[round - 1][:, lo:hi], forward.values[round - 1][:, lo:hi]], axis=2
                )
                expected[round, player] = encode(self.model.fmt, block.reshape(len(block), -1))
        return expected


@register
class AttentionReduction(Reduction):
    r"""An L-layer causal softmax transformer (one head per layer) → (k, R = L, s) protocol in which
    every player posts its block's keys and values, each round.

    Notes
    -----
    :math:`s = \max_j \mathrm{rows}_j \cdot (d + e) \cdot p`, about :math:`(N/k)(d+e)p`: it grows with
    N, so :math:`s = \Omega(N/k^6)` holds and the lower bound allows :math:`L < k` — which the
    log-depth construction uses (:math:`L = 2 + \lceil \log_2 k \rceil`).

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, §5, Appendix E, Theorem 4.2. arXiv:2402.09268.
    """

    name = "attention"
    message_grows_with_n = True
    family = "causal softmax transformers, one head per layer (commlab.models.transformer)"
    bound = (
        "R = L with s = block·(d+e)·p ≈ (N/k)(d+e)p: s grows with N, so L < k is allowed  [SHT24 §5, Thm 4.2]"
    )
    references = "Sanford, Hsu, Telgarsky, ICML 2024, §5, App. E, Thm 4.2 (arXiv:2402.09268)"

    def validate(self, model: Any) -> list[str]:
        return self.expects(model, Transformer) or ([] if model.layers else ["the model has no layers"])

    def rounds(self, model: Transformer) -> int:
        return len(model.layers)

    def bits_per_message(self, model: Transformer, k: int, blocks: list[tuple[int, int]] | None = None) -> int:
        """s for players holding ``blocks`` (the largest block's keys and values); without blocks, for
        k players holding near-equal blocks (sizes differ by at most one) of the model's context."""
        if blocks is None:
            edges = np.linspace(0, model.context, k + 1).round().astype(int)
            blocks = list(zip(edges[:-1], edges[1:], strict=True))
        return AttentionProtocol(self.name, model, blocks).spec.max_bits

    def compile(self, model: Transformer, blocks: list[tuple[int, int]]) -> AttentionProtocol:
        return AttentionProtocol(self.name, model, blocks)


def reduce_attention(
    *,
    k: int = 4,
    q: int = 16,
    layers: int | None = None,
    trials: int = 100,
    seed: int = 0,
    c_value: float = 1.0,
):
    """Build the log-depth hop_k transformer for (q, k) pointer chasing (N = 2kq + 1, |Σ| = 2q + 2),
    compile it with the attention reduction, run it, verify every message bit for bit, and report
    (what ``commlab reduce attention`` prints).

    Examples
    --------
    >>> r = reduce_attention(k=4, q=4, trials=20)
    >>> r.rounds, r.mismatches, r.accuracy, r.declared_bits_per_message
    (4, 0, 1.0, 5760)
    """
    from commlab.models.construction import build_hop_transformer
    from commlab.problems.pointer_chasing import check_parameters
    from reductions.experiment import reduce_on_pointer_chasing

    check_parameters(q, k, trials)
    construction = build_hop_transformer(k, 2 * k * q + 1, 2 * q + 2, layers)
    params = {"layers": construction.layers, "reached": construction.reached, "n": 2 * k * q + 1}
    return reduce_on_pointer_chasing(
        construction.model,
        k=k,
        q=q,
        trials=trials,
        seed=seed,
        reduction="attention",
        c_value=c_value,
        params=params,
    )


def attention_bits_table(k: int, q_values: list[int], *, trials: int = 20, seed: int = 0) -> list[dict]:
    """The attention protocol of the log-depth construction on (q, k) pointer chasing for each q:
    N, rounds, the largest message measured, mismatches against the model, accuracy, and the bits
    per message the hop_k bound demands of a protocol with fewer than k rounds (c = 1).

    Examples
    --------
    >>> rows = attention_bits_table(4, [2, 4], trials=10)
    >>> [(r["n"], r["rounds"], r["bits_per_message"], r["mismatches"]) for r in rows]
    [(17, 4, 3200, 0), (33, 4, 5760, 0)]
    """
    from commlab.analysis.bounds import get_bound

    rows = []
    for q in q_values:
        report = reduce_attention(k=k, q=q, trials=trials, seed=seed)
        n = 2 * k * q + 1
        rows.append(
            {
                "q": q,
                "n": n,
                "k": k,
                "rounds": report.rounds,
                "bits_per_message": report.bits_per_message,
                "mismatches": report.mismatches,
                "accuracy": report.accuracy,
                "bound_bits": get_bound("hop-k").required_bits(N=n, k=k, c=1),
            }
        )
    return rows
