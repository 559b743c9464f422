"""A one-layer softmax transformer that thinks aloud: N_CoT chain-of-thought tokens, then an answer.

After reading X_1..X_N the model appends a fixed start-of-thought token ⟨s⟩ (the position its first
query comes from) and then, N_CoT times, the token its one attention layer predicts there, each
appended to the sequence and attended to; the prediction after the last one is its answer. Step c
(c = 0..N_CoT) is one query over every position before it and itself, so the model makes
N_CoT + 1 attention queries in all (docs/theory.md §6, fourth row: N_CoT + 1 rounds).

Each query's softmax is computed the way a causal decoder streams it: left to right over the keys,
with a running maximum, normaliser and numerator per head (:func:`commlab.models.ops.online_softmax_step`).
That streamed arithmetic *is* the model (in float64 it agrees with the dense
:func:`~commlab.models.ops.attention`, the check), and it is what makes a protocol that continues it
block by block exact, bit for bit. The first query comes from ⟨s⟩, a constant, rather than from the
last input token: so every player can start round 1 without seeing X_N, on every input.

Token ids: inputs are ``0..alphabet-1``; the model's vocabulary (rows of its embedding) may be larger
(scratchpad tokens), and ``answer_of`` reads a generated token as an answer (−1 for ⊥). A learned
position table of ``context`` rows bounds N + N_CoT + 1.

Formats. The protocol is exact in every format because the model itself is the streamed arithmetic.
A format is refused only where the softmax cannot be computed at all: the normaliser reaches up to
N + N_CoT + 1 (each weight is at most e⁰ = 1), so a format whose largest value is smaller (fixed12.6
holds less than 32; float16 at most 65 504) would saturate it, and is refused with :class:`InvalidParameter`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from commlab.errors import InvalidParameter
from commlab.io.codecs import NumberFormat, UInt, bits_for, number_format
from commlab.models.arith import Arith
from commlab.models.ops import attention, causal_mask, online_softmax_step

__all__ = ["CoTForward", "ChainOfThought", "hop_cot_model", "random_cot_model"]


@dataclass(frozen=True, eq=False)
class CoTForward:
    """A forward pass: ``tokens`` (B, N_CoT + 1) generated at each step (the last is the answer's
    token), ``predictions`` the same read as answers (−1 for ⊥), and ``recorded[c][t]``, the
    softmax state (max, normaliser, numerator) of query c after position t, for the asked t."""

    tokens: np.ndarray
    predictions: np.ndarray
    recorded: list[dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]


@dataclass(frozen=True, eq=False)
class ChainOfThought:
    """One softmax-attention layer (H heads, values of width m) with chain of thought.

    Parameters
    ----------
    alphabet : int
        Input tokens are ``0..alphabet-1``.
    cot_tokens : int
        N_CoT, the tokens generated before the answer.
    heads, width : int
        H heads with values of width m; queries and keys have width ``W_q.shape[1] // heads``.
    fmt : NumberFormat
    params : dict
        ``embedding`` (vocab, d), ``positions`` (context, d), ``W_q``/``W_k`` (d, H·dk),
        ``W_v`` (d, H·m), ``W_o`` (H·m, d), ``readout`` (d, vocab).
    scale : float
        Multiplies every score (1/√dk in a standard head; large for hard attention).
    start : int
        The start-of-thought token (default: the last of the vocabulary).
    answer_of : int array (vocab,), optional
        The answer each token stands for; default: inputs themselves, −1 (⊥) for the rest.

    Notes
    -----
    At step c, with x_t = embedding[token_t] + positions[t] and the query at position N + c:
    y = x_{N+c} + concat_h(softmax_h) W_o, next token = argmax(y · readout), every step rounded.

    References
    ----------
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Corollary 5.6 (corrected: N_CoT + 1 ≥ k).
    arXiv:2402.09268.
    """

    alphabet: int
    cot_tokens: int
    heads: int
    width: int
    fmt: NumberFormat
    params: dict[str, np.ndarray]
    scale: float
    start: int | None = None
    answer_of: np.ndarray | None = None
    name: str = "chain-of-thought transformer"
    info: dict = field(default_factory=dict)
    arith: Arith = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "arith", Arith(self.fmt))
        vocab = self.params["embedding"].shape[0]
        if self.start is None:
            object.__setattr__(self, "start", vocab - 1)
        if self.answer_of is None:
            answers = np.where(np.arange(vocab) < self.alphabet, np.arange(vocab), -1)
            object.__setattr__(self, "answer_of", answers)
        problems = []
        if not isinstance(self.cot_tokens, (int, np.integer)) or self.cot_tokens < 0:
            problems.append(f"cot_tokens must be an integer >= 0, got {self.cot_tokens}")
        if not 0 < self.alphabet <= vocab or not 0 <= self.start < vocab:
            problems.append(
                f"alphabet {self.alphabet} and start {self.start} must fit the vocabulary of {vocab}"
            )
        d, hm = self.params["embedding"].shape[1], self.heads * self.width
        shapes = {"positions": (None, d), "W_v": (d, hm), "W_o": (hm, d), "readout": (d, vocab)}
        shapes.update({"W_q": (d, None), "W_k": (d, self.params["W_q"].shape[1])})
        for name, shape in shapes.items():
            got = self.params[name].shape
            if len(got) != 2 or any(s is not None and s != g for s, g in zip(shape, got, strict=True)):
                problems.append(f"{name} has shape {got}, expected {shape} (None: any)")
        if self.params["W_q"].shape[1] % self.heads:
            problems.append(
                f"W_q's {self.params['W_q'].shape[1]} columns do not split into {self.heads} heads"
            )
        if problems:
            raise InvalidParameter("chain-of-thought model: " + "; ".join(problems))

    # --- shape ---------------------------------------------------------------------------------

    @property
    def vocab(self) -> int:
        return self.params["embedding"].shape[0]

    @property
    def context(self) -> int:
        """Positions the position table covers: N + N_CoT + 1 must not exceed it."""
        return self.params["positions"].shape[0]

    @property
    def state_numbers(self) -> int:
        """Numbers in one query's streamed softmax state: H·(m + 2) (max, normaliser, numerator)."""
        return self.heads * (self.width + 2)

    @property
    def state_bits(self) -> int:
        return self.state_numbers * self.fmt.bits

    @property
    def token_format(self) -> UInt:
        """How a generated token is posted: ``bits_for(vocab)`` bits."""
        return UInt(bits_for(self.vocab))

    @property
    def output_format(self) -> UInt:
        """How the answer is posted: ``answer + 1`` (⊥ = −1 fits) in ``bits_for(alphabet + 1)`` bits."""
        return UInt(bits_for(self.alphabet + 1))

    def check_length(self, n: int) -> None:
        """Refuse an input length the model cannot run exactly: the position table must cover
        N + N_CoT + 1 positions and the format must hold a normaliser that large."""
        total = n + self.cot_tokens + 1
        if total > self.context:
            raise InvalidParameter(
                f"N + N_CoT + 1 = {total} positions exceed the model's context of {self.context}; "
                "build it with a larger context"
            )
        held = float(self.fmt.round(np.array(float(total)))[()])
        if not np.isfinite(held) or held < 0.99 * total:
            raise InvalidParameter(
                f"{self.fmt.name} cannot hold the softmax normaliser of {total} positions (it reaches "
                f"{held:g}): the streamed softmax would saturate, so it cannot be exact in {self.fmt.name}; "
                "use a format with a wider range"
            )

    # --- one position, one query ---------------------------------------------------------------

    def embed_at(self, tokens: np.ndarray, position: int) -> np.ndarray:
        """x_t = embedding[token] + positions[t] for a batch of tokens at one position: (B, d)."""
        return self.arith.add(self.params["embedding"][tokens], self.params["positions"][position])

    def key_value(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys (B, H, dk) and values (B, H, m) of one position."""
        a, p = self.arith, self.params
        batch = len(x)
        return a.mm(x, p["W_k"]).reshape(batch, self.heads, -1), a.mm(x, p["W_v"]).reshape(
            batch, self.heads, -1
        )

    def query(self, x: np.ndarray) -> np.ndarray:
        """The scaled query (B, H, dk) of one position."""
        a = self.arith
        q = a.mul(a.mm(x, self.params["W_q"]), np.asarray(self.scale, dtype=self.fmt.dtype))
        return q.reshape(len(x), self.heads, -1)

    def initial_state(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The empty softmax state: max −∞, normaliser 0, numerator 0."""
        dtype, shape = self.fmt.dtype, (batch, self.heads)
        return np.full(shape, -np.inf, dtype), np.zeros(shape, dtype), np.zeros((*shape, self.width), dtype)

    def attend(self, state, query: np.ndarray, key: np.ndarray, value: np.ndarray):
        """Continue a query's softmax state over one more position."""
        score = self.arith.mm(query[..., None, :], key[..., :, None])[..., 0, 0]
        return online_softmax_step(self.arith, state, score, value)

    def next_token(self, state, x_query: np.ndarray) -> np.ndarray:
        """The token a finished query predicts: argmax of (x + attention W_o) · readout."""
        a, p = self.arith, self.params
        _, total, numerator = state
        attended = a(numerator / total[..., None])  # total ≥ 1: the maximum's own weight is e⁰
        y = a.add(x_query, a.mm(attended.reshape(len(x_query), -1), p["W_o"]))
        return np.argmax(a.mm(y, p["readout"]), axis=1).astype(np.int64)

    # --- the whole model -----------------------------------------------------------------------

    def forward(self, tokens: np.ndarray, record=()) -> CoTForward:
        """Generate N_CoT tokens and the answer for a batch ``(B, N)``, streaming every query left to
        right; ``record`` lists the positions after which to keep each query's state."""
        tokens = self._check_tokens(tokens)
        batch, n = tokens.shape
        self.check_length(n)
        keys, values = [], []
        for t in range(n):
            k, v = self.key_value(self.embed_at(tokens[:, t], t))
            keys.append(k)
            values.append(v)
        generated = np.empty((batch, self.cot_tokens + 1), dtype=np.int64)
        recorded, current = [], np.full(batch, self.start, dtype=np.int64)
        wanted = set(record)
        for c in range(self.cot_tokens + 1):
            x = self.embed_at(current, n + c)
            k, v = self.key_value(x)
            keys.append(k)
            values.append(v)
            query, state, kept = self.query(x), self.initial_state(batch), {}
            for t in range(n + c + 1):
                state = self.attend(state, query, keys[t], values[t])
                if t in wanted:
                    kept[t] = state
            recorded.append(kept)
            current = generated[:, c] = self.next_token(state, x)
        return CoTForward(generated, self.answer_of[generated], recorded)

    def dense(self, sequence: np.ndarray) -> np.ndarray:
        """Attention outputs ``(B, n, H, m)`` at every position of a whole sequence (inputs, ⟨s⟩ and
        generated tokens) from the full n × n causally masked softmax (:func:`~commlab.models.ops.attention`):
        O(n²), only the check of the streamed queries."""
        batch, n = sequence.shape
        x = np.stack([self.embed_at(sequence[:, t], t) for t in range(n)], axis=1)  # (B, n, d)

        def heads(weights: str) -> np.ndarray:  # (B, H, n, ·)
            return np.moveaxis(self.arith.mm(x, self.params[weights]).reshape(batch, n, self.heads, -1), 2, 1)

        out = attention(
            self.arith, heads("W_q"), heads("W_k"), heads("W_v"), causal_mask(n), scale=self.scale
        )
        return np.moveaxis(out, 1, 2)

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """The answer for each sequence, shape (B,) (−1 for ⊥)."""
        return self.forward(tokens).predictions[:, -1]

    def _check_tokens(self, tokens) -> np.ndarray:
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
            raise InvalidParameter(f"tokens must be integers of shape (batch, length), got {tokens.shape}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.alphabet):
            raise InvalidParameter(
                f"tokens must lie in 0..{self.alphabet - 1}, got [{tokens.min()}, {tokens.max()}]"
            )
        return tokens

    def describe(self) -> str:
        return (
            f"{self.name}: 1 softmax layer, H = {self.heads}, m = {self.width}, N_CoT = {self.cot_tokens}, "
            f"state {self.heads}×({self.width}+2) in {self.fmt.name} = {self.state_bits} bits, "
            f"vocabulary {self.vocab}"
        )


def random_cot_model(
    cot_tokens: int,
    heads: int,
    width: int,
    alphabet: int,
    fmt: str | NumberFormat = "float32",
    seed: int = 0,
    context: int = 64,
) -> ChainOfThought:
    """A chain-of-thought model with random weights from ``seed``: vocabulary = the alphabet plus
    ⟨s⟩, residual width H·m, key width m, scores scaled by 1/√m.

    Examples
    --------
    >>> model = random_cot_model(cot_tokens=2, heads=2, width=4, alphabet=5)
    >>> model.forward(np.array([[0, 1, 2, 3, 4]])).tokens.shape, model.state_bits
    ((1, 3), 384)
    """
    problems = [
        f"{what} must be an integer >= {low}, got {value}"
        for what, value, low in (("cot_tokens", cot_tokens, 0), ("heads", heads, 1), ("width", width, 1))
        if not isinstance(value, (int, np.integer)) or value < low
    ]
    if problems:
        raise InvalidParameter("; ".join(problems))
    fmt = number_format(fmt)
    rng = np.random.default_rng(seed)
    d, vocab = heads * width, alphabet + 1

    def matrix(rows, cols, std):
        return fmt.round(rng.normal(0.0, std, size=(rows, cols)))

    params = {
        "embedding": matrix(vocab, d, 1.0),
        "positions": matrix(context, d, 0.5),
        "W_q": matrix(d, d, d**-0.5),
        "W_k": matrix(d, d, d**-0.5),
        "W_v": matrix(d, d, d**-0.5),
        "W_o": matrix(d, d, d**-0.5),
        "readout": matrix(d, vocab, d**-0.5),
    }
    info = {"cot_tokens": cot_tokens, "heads": heads, "width": width, "seed": seed}
    return ChainOfThought(alphabet, cot_tokens, heads, width, fmt, params, width**-0.5, info=info)


def hop_cot_model(
    alphabet: int, context: int, cot_tokens: int, fmt: str | NumberFormat = "float32"
) -> ChainOfThought:
    """A chain-of-thought model with hard (scaled) attention that follows hops, two CoT tokens per
    hop: with N_CoT = 2h its answer is hop_h(X)_N whenever the first h hops exist (so on every
    encoded pointer-chasing instance with h = k), in one head with values of width m = 2.

    Its scratchpad tokens are *pairs* (x, p) — "token x, at position p" — and *positions* p. Scores
    are integers (exact in float32, where e^{−128} underflows to 0, so the attention is exactly hard):

    - ⟨s⟩ attends to the last input position N − 1 and writes the pair (X_{N−1}, N − 1);
    - a pair (x, p) attends to the largest a < p with X_a = x (score Λ·[X_a = x] + δ·a − Λ·[a ≥ p])
      and writes the position a + 1 = find¹(p);
    - a position p attends to position p (score Λ·[a = p]) and writes the pair (X_p, p).

    Keys are (one-hot token, one-hot position, "generated" flag); every generated position's key
    carries a large negative score, so queries read only the input. The readout decodes the value
    (X_a, a) as the pair or position nearest to it (logits 2x·X − x² + 2t·a − t²). A pair answers its
    token; a position answers ⊥. With N_CoT < 2k, or odd, the answer is an earlier hop or ⊥.

    Parameters
    ----------
    alphabet : int
        Input tokens 0..alphabet−1.
    context : int
        Positions the model covers (N + N_CoT + 1 at least).
    cot_tokens : int
        N_CoT.

    Examples
    --------
    >>> from commlab.problems.hop import hop_k
    >>> x = np.array([[1, 0, 4, 1, 2, 0, 1, 4, 1, 3, 4, 0]])
    >>> model = hop_cot_model(alphabet=5, context=17, cot_tokens=4)
    >>> int(model.predict(x)[0]), int(hop_k(x, 2)[0, -1])
    (2, 2)
    """
    if not isinstance(context, (int, np.integer)) or context < 1:
        raise InvalidParameter(f"context must be an integer >= 1, got {context}")
    fmt = number_format(fmt)
    a_, c_ = alphabet, context
    start, pos0, pair0 = a_, a_ + 1, a_ + 1 + c_
    vocab = pair0 + a_ * c_
    tok, pos, qp = np.arange(a_), a_ + np.arange(c_), a_ + c_ + np.arange(c_)
    gen, one, find, fetch, osym, opos = a_ + 2 * c_ + np.arange(6)
    d, dk = a_ + 2 * c_ + 6, a_ + c_ + 1
    step = 128.0  # δ: the score gap between neighbouring positions; e^{−128} is 0 in float32
    big = step * (c_ + 1)  # Λ: outweighs any δ·a
    ramp = step * np.arange(c_)

    embedding = np.zeros((vocab, d))
    embedding[tok, tok] = 1
    embedding[:, one] = 1
    embedding[start:, gen] = 1
    embedding[start, [fetch]] = 1
    embedding[start, qp] = ramp
    embedding[pos0 + np.arange(c_), fetch] = 1
    embedding[pos0 + np.arange(c_), qp] = big  # Λ·[a = p]
    pairs = np.arange(a_ * c_)
    x_of, p_of = pairs // c_, pairs % c_
    embedding[pair0 + pairs, x_of] = 1
    embedding[pair0 + pairs, find] = 1
    embedding[(pair0 + pairs)[:, None], qp[None, :]] = ramp[None, :] - big * (
        np.arange(c_)[None, :] >= p_of[:, None]
    )
    positions = np.zeros((c_, d))
    positions[np.arange(c_), pos] = 1

    w_k, w_q = np.zeros((d, dk)), np.zeros((d, dk))
    w_k[tok, np.arange(a_)] = 1
    w_k[pos, a_ + np.arange(c_)] = 1
    w_k[gen, dk - 1] = 1
    w_q[tok, np.arange(a_)] = big
    w_q[qp, a_ + np.arange(c_)] = 1
    w_q[one, dk - 1] = -3 * big  # outweighs every other term: generated positions are never read
    w_v = np.zeros((d, 2))
    w_v[tok, 0] = np.arange(a_)
    w_v[pos, 1] = np.arange(c_)
    w_o = np.zeros((2, d))
    w_o[0, osym], w_o[1, opos] = 1, 1

    bonus = 2.0 * (a_**2 + c_**2) + 8  # a token of the wrong kind never wins
    readout = np.zeros((d, vocab))
    readout[one, :pos0] = -2 * bonus
    t = np.arange(c_)
    readout[opos, pos0 + t] = 2 * t
    readout[one, pos0 + t] = 2 * t - t**2  # −(t − (a + 1))² up to a constant
    readout[find, pos0 + t] = bonus
    readout[osym, pair0 + pairs] = 2 * x_of
    readout[opos, pair0 + pairs] = 2 * p_of
    readout[one, pair0 + pairs] = -(x_of**2) - p_of**2
    readout[fetch, pair0 + pairs] = bonus

    answers = np.full(vocab, -1)
    answers[:a_] = np.arange(a_)
    answers[pair0 + pairs] = x_of
    params = {
        "embedding": embedding,
        "positions": positions,
        "W_q": w_q,
        "W_k": w_k,
        "W_v": w_v,
        "W_o": w_o,
        "readout": readout,
    }
    params = {name: fmt.round(value) for name, value in params.items()}
    info = {"cot_tokens": cot_tokens, "heads": 1, "width": 2, "context": context, "solver": "hop"}
    return ChainOfThought(
        alphabet,
        cot_tokens,
        1,
        2,
        fmt,
        params,
        1.0,
        start,
        answers,
        f"hop-following CoT ({cot_tokens} tokens)",
        info,
    )
