"""One-layer transformers with chain of thought as (k, N_CoT + 1, s) protocols (docs/theory.md §6,
fourth row; SHT24 Cor 5.6, corrected to N_CoT + 1 ≥ k).

Not a layer stack: a round is a chain-of-thought *step*, one attention query. In round c + 1 the
query comes from the token at position N + c — ⟨s⟩ for c = 0, afterwards the token P_1 posted at the
end of round c — so every player knows it. Each player, in speaking order (left to right along the
sequence), takes the streamed softmax state of that query from the player before it (P_k starts
from the empty state), continues it over its own block — running maximum, normaliser and numerator
per head, exactly the model's own left-to-right arithmetic — and posts it: H·(m + 2) numbers. P_1
continues it over its block and over the chain-of-thought positions (⟨s⟩ and the tokens it posted,
known to all from the board), finishes the query and posts the next token; in the last round, the
answer. So R = N_CoT + 1 and s = H·(m + 2)·p bits (or a token's bits, if more).
"""

from __future__ import annotations

import numpy as np

from commlab.engine.ir import ProtocolSpec
from commlab.engine.protocol import Protocol
from commlab.io.codecs import decode, encode
from commlab.models.cot import ChainOfThought
from reductions.registry import Reduction, register

__all__ = ["CoTProtocol", "CoTReduction", "cot_solver_curve", "reduce_cot"]


def _posted_bits(model: ChainOfThought, k: int) -> int:
    """s: the answer's bits, a token's bits if any token is posted, a softmax state's if k > 1."""
    posted = [model.output_format.bits]
    if model.cot_tokens:
        posted.append(model.token_format.bits)
    if k > 1:
        posted.append(model.state_bits)
    return max(posted)


class CoTProtocol(Protocol):
    """A chain-of-thought model as a (k, N_CoT + 1, s) protocol (module docstring)."""

    def __init__(self, name: str, model: ChainOfThought, blocks: list[tuple[int, int]]):
        self.model, self.blocks = model, [tuple(b) for b in blocks]
        self.length = self.blocks[-1][1]
        model.check_length(self.length)
        self.spec = ProtocolSpec(name, len(blocks), model.cot_tokens + 1, _posted_bits(model, len(blocks)))

    def encode_state(self, state) -> np.ndarray:
        """The exact bits of (max, normaliser, numerator), in that order."""
        return np.concatenate([encode(self.model.fmt, part) for part in state], axis=1)

    def decode_state(self, bits: np.ndarray):
        model, h = self.model, self.model.heads
        fmt, p = model.fmt, model.fmt.bits
        running = decode(fmt, bits[:, : h * p], (h,))
        total = decode(fmt, bits[:, h * p : 2 * h * p], (h,))
        numerator = decode(fmt, bits[:, 2 * h * p :], (h, model.width))
        return tuple(part.astype(fmt.dtype, copy=False) for part in (running, total, numerator))

    def _thought(self, board, rounds: int, batch: int) -> list[np.ndarray]:
        """⟨s⟩ and the chain-of-thought tokens P_1 posted in rounds 1..rounds (from the board)."""
        model = self.model
        posted = [
            decode(model.token_format, board.message(r, 1).bits, (1,))[:, 0] for r in range(1, rounds + 1)
        ]
        return [np.full(batch, model.start, dtype=np.int64), *(t.astype(np.int64) for t in posted)]

    def message_length(self, round, player, board, coins, memory):
        """Public, fixed by the turn: a softmax state from P_k..P_2, the next CoT token from P_1
        before the last round, then the answer."""
        if player > 1:
            return self.model.state_bits
        if round < self.spec.rounds:
            return self.model.token_format.bits
        return self.model.output_format.bits

    def speak(self, player, round, own, board, coins, memory):
        model, k, c = self.model, self.spec.k, round - 1
        start = self.blocks[k - player][0]
        batch = len(own)
        if "kv" not in memory:  # a player may keep what it computed from its own block
            memory["kv"] = [
                model.key_value(model.embed_at(own[:, i], start + i)) for i in range(own.shape[1])
            ]
        thought = self._thought(board, c, batch)
        x_query = model.embed_at(thought[c], self.length + c)
        query = model.query(x_query)
        if player == k:
            state = model.initial_state(batch)
        else:
            state = self.decode_state(board.message(round, player + 1).bits)
        for key, value in memory["kv"]:
            state = model.attend(state, query, key, value)
        if player > 1:
            return self.encode_state(state)
        for i, token in enumerate(thought):  # P_1 finishes over ⟨s⟩ and the thought so far
            state = model.attend(state, query, *model.key_value(model.embed_at(token, self.length + i)))
        token = model.next_token(state, x_query)
        if round < self.spec.rounds:
            return encode(model.token_format, token[:, None])
        return encode(model.output_format, model.answer_of[token][:, None] + 1)

    def decode(self, message):
        """The answer (−1 for ⊥)."""
        return super().decode(message) - 1

    def expected_messages(self, tokens: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """What the model's own forward pass puts in each turn: query c's streamed state at the end
        of each block (round c + 1), P_1's generated token, and the answer last."""
        model, k = self.model, self.spec.k
        forward = model.forward(tokens, record=[end - 1 for _, end in self.blocks])
        expected = {}
        for round in range(1, self.spec.rounds + 1):
            for player in range(k, 1, -1):
                end = self.blocks[k - player][1]
                expected[round, player] = self.encode_state(forward.recorded[round - 1][end - 1])
            if round < self.spec.rounds:
                expected[round, 1] = encode(model.token_format, forward.tokens[:, round - 1 : round])
            else:
                expected[round, 1] = encode(model.output_format, forward.predictions[:, -1:] + 1)
        return expected


@register
class CoTReduction(Reduction):
    r"""One-layer softmax transformer with N_CoT chain-of-thought tokens → (k, N_CoT + 1,
    H·(m+2)·p) protocol.

    Notes
    -----
    If the model computes hop_k(X)_N on encoded pointer chasing with probability ≥ 2/3, then
    :math:`N_{CoT} + 1 \ge k` or :math:`m H p = \Omega(N / k^6)`. (arXiv v1 states
    :math:`N_{CoT} \ge k`; the protocol makes N_CoT + 1 queries, one round each.)

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic
    depth." ICML 2024, Corollary 5.6. arXiv:2402.09268.
    """

    name = "cot"
    family = "one-layer softmax transformers with N_CoT chain-of-thought tokens"
    bound = "N_CoT + 1 ≥ k or s = H·(m+2)·p = Ω(N/k⁶)  [SHT24 Cor 5.6, corrected]"
    references = "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.6 (arXiv:2402.09268)"

    def validate(self, model):
        return self.expects(model, ChainOfThought, "a ChainOfThought model")

    def rounds(self, model):
        return model.cot_tokens + 1

    def bits_per_message(self, model, k, blocks=None):
        return _posted_bits(model, k)

    def compile(self, model, blocks):
        return CoTProtocol(self.name, model, blocks)


def reduce_cot(
    *,
    cot_tokens: int = 3,
    heads: int = 2,
    width: int = 32,
    fmt: str = "float32",
    k: int | None = None,
    q: int = 64,
    trials: int = 200,
    seed: int = 0,
    c_value: float = 1.0,
):
    """Build a chain-of-thought model (random weights from ``seed``), compile it, run it on encoded
    pointer chasing and report (what ``commlab reduce cot`` prints). k defaults to N_CoT + 2, the
    first k the alternative N_CoT + 1 ≥ k does not cover.

    Examples
    --------
    >>> report = reduce_cot(cot_tokens=1, heads=1, width=4, q=4, trials=10)
    >>> report.k, report.rounds, report.declared_bits_per_message, report.mismatches
    (3, 2, 192, 0)
    """
    from commlab.models.cot import random_cot_model
    from reductions.experiment import model_params, reduce_on_pointer_chasing

    k = cot_tokens + 2 if k is None else k
    context = 2 * k * q + 1 + cot_tokens + 1
    model = random_cot_model(cot_tokens, heads, width, 2 * q + 2, fmt, seed, context=context)
    return reduce_on_pointer_chasing(
        model, k=k, q=q, trials=trials, seed=seed, reduction="cot", c_value=c_value, params=model_params(model)
    )


def cot_solver_curve(
    q: int, k: int, budgets: list[int], *, trials: int, seed: int = 0, fmt: str = "float32", progress=None
):
    """The hop-following chain-of-thought model (:func:`commlab.models.cot.hop_cot_model`) on
    encoded (q, k) pointer chasing, one point per CoT budget N_CoT, each compiled and verified bit
    for bit. Its messages are H·(m + 2)·p = 4·p bits whatever the budget; its accuracy is 1 exactly
    at N_CoT = 2k (two tokens per hop) and 0 otherwise, with N_CoT + 1 rounds.

    Raises
    ------
    InvalidParameter
        When the scratchpad vocabulary ((2q + 2)·(N + N_CoT + 1) pair tokens) would need more than
        5·10⁷ embedding numbers.

    Examples
    --------
    >>> curve = cot_solver_curve(4, 2, [3, 4], trials=20)
    >>> curve.accuracy, curve.rounds, curve.bits_per_message
    ([0.0, 1.0], [4, 5], [128, 128])
    """
    from commlab.errors import InvalidParameter
    from commlab.models.cot import hop_cot_model
    from reductions.experiment import solver_curve

    alphabet, n = 2 * q + 2, 2 * k * q + 1
    context = n + max(budgets, default=0) + 1
    numbers = (alphabet * (context + 1)) * (alphabet + 2 * context + 6)
    if numbers > 5 * 10**7:
        raise InvalidParameter(
            f"the hop-following CoT model for q = {q}, k = {k} needs {numbers:.3g} embedding numbers "
            "(its vocabulary has (2q + 2)·(N + N_CoT + 1) pair tokens); use a smaller q or k"
        )
    return solver_curve(
        "one-layer CoT, hard attention (2 tokens per hop)",
        lambda budget: hop_cot_model(alphabet, n + budget + 1, budget, fmt),
        list(budgets),
        q=q,
        k=k,
        trials=trials,
        seed=seed,
        progress=progress,
    )
