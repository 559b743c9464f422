r"""A softmax transformer that computes hop_k in L = 2 + ⌈log₂ k⌉ layers (docs/theory.md §8).

The weights are written down, not trained: :func:`build_hop_transformer` returns a
:class:`~commlab.models.transformer.Transformer` (causal softmax attention, one head per layer,
a residual stream, float64) whose prediction at every position is hop_k, ⊥ included.

How it works (1-based positions, BOS at 0 standing for "no position"; registers are slots of the
residual stream, each a triple ``(t, x_t, none)``: a target position, the token there, and 1 if the
pointer is ⊥):

- Embeddings: position i writes ``1, i, i²``; token a writes ``a, a²`` (BOS writes ``−1, 1`` and a flag).
- Layer 1 (lookUp of i − 1): score ``2(i−1)j − j² = (i−1)² − (j − (i−1))²``, largest at j = i − 1; it
  copies ``x_{i−1}, x_{i−1}²`` into the stream.
- Layer 2 (lastOccurrence): score ``c(2x_i·x_{j−1} − x_{j−1}²) + j + c(x_i + 1)²·[j = 0]`` with
  ``c = 2(context + 1)``, which is ``c·x_i² + j`` when ``x_{j−1} = x_i``, at most ``c·x_i² − c + N`` when
  not, and ``c·x_i²`` at BOS: the argmax is find¹(i), or BOS when there is none. It writes the
  register P₁ = (find¹(i), X_{find¹(i)}, ⊥?).
- Layers 3..L (lookUp at the current pointer, as in the paper's lemma): score ``2t_i j − j²`` with t_i
  the target of P_{2^{ℓ−3}}; the head copies the registers found at t_i: P_{2^{ℓ−2}} = P∘P (doubling)
  and, when bit ℓ − 3 of k is 1, the accumulator A ← A∘P (A starts as the identity (i, x_i, 0)).
  Pointers into BOS stay there, and BOS's registers say ⊥, so ⊥ propagates.
- Readout: the token score ``2a·x − a² = x² − (x − a)²`` peaks at a = x; ⊥ scores ``|Σ|²·none − ½``.
  It reads P_{2^{L−2}} when k = 2^{L−2}, else A.

With L − 2 lookups the reachable hop counts are 0..2^{L−2}, so L = 2 + ⌈log₂ k⌉ is the least depth; a
shallower model (e.g. the paper's ⌊log₂ k⌋ + 2 when k is not a power of two) computes
hop_{2^{L−2}} instead of hop_k, and :func:`build_hop_transformer` builds that too, to measure it.

**Exactness and the scale.** Every score above is an integer and every argmax beats the runner-up by
at least 1 (by construction; no ties are possible). The softmax scale is λ = 2¹⁰ = 1024 for every
layer. Since e^{−1024} < 2^{−1074} (the least float64 subnormal, ≈ e^{−744.4}), every weight but the
argmax's underflows to exactly 0.0 and the argmax's is exp(0) = 1: attention is an exact copy of one
row. The scores are exact too as long as λ·S_max < 2⁵³, where S_max, the largest score magnitude,
depends on N and |Σ|: ``S_max = max(3n², c(4|Σ|² + 2|Σ| + 1) + n)`` with n the context; the builder
checks this (it holds up to n ≈ 10⁶ tokens at |Σ| = 64) and refuses larger models. So the model's
output is exactly hop_k, at every position, for every input — the tests check it on thousands of
sequences against :func:`commlab.problems.hop.hop_k`.

References
----------
C. Sanford, D. Hsu and M. Telgarsky. "Transformers, parallel computation, and logarithmic depth."
ICML 2024, Theorem 4.2 (depth corrected to 2 + ⌈log₂ k⌉, docs/theory.md §8). arXiv:2402.09268.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from commlab.errors import InvalidParameter
from commlab.models.transformer import AttentionLayer, Transformer, load_transformer

__all__ = [
    "SCALE",
    "HopConstruction",
    "build_hop_transformer",
    "ceil_depth",
    "floor_depth",
    "load_hop_construction",
]

SCALE = 1024.0
"""The softmax scale of every layer: a power of two (so scaling is exact) above 745.2, so that a score
1 below the row maximum gets weight exactly 0 in float64."""

EXACT = 2.0**53
HEAD = 4  # query/key columns of every layer
VALUE = 6  # value columns: two registers of three numbers


def ceil_depth(k: int) -> int:
    """L = 2 + ⌈log₂ k⌉, the depth the construction needs (docs/theory.md §8, corrected).

    Examples
    --------
    >>> [ceil_depth(k) for k in (1, 2, 3, 4, 5, 8, 9, 16, 64)]
    [2, 3, 4, 4, 5, 5, 6, 6, 8]
    """
    _check_k(k)
    return 2 + (k - 1).bit_length()


def floor_depth(k: int) -> int:
    """L = ⌊log₂ k⌋ + 2, the depth SHT24 v1 states; one layer short whenever k is not a power of two.

    Examples
    --------
    >>> [floor_depth(k) for k in (1, 2, 3, 4, 5)]
    [2, 3, 3, 4, 4]
    """
    _check_k(k)
    return 1 + k.bit_length()


def _check_k(k) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise InvalidParameter(f"k must be an integer >= 1 (hop_0 needs no model), got {k!r}")


class _Slots:
    """Names for the columns of the residual stream, allocated in order."""

    def __init__(self, *names: str):
        self.index: dict[str, int] = {}
        self.add(*names)

    def add(self, *names: str) -> list[int]:
        for name in names:
            self.index[name] = len(self.index)
        return [self.index[n] for n in names]

    def __getitem__(self, name: str) -> int:
        return self.index[name]

    def register(self, name: str) -> tuple[int, int, int]:
        return tuple(self.index[f"{name}.{part}"] for part in ("t", "tok", "none"))


@dataclass(frozen=True, eq=False)
class HopConstruction:
    """The construction: its transformer, the hop count it was asked for (``k``) and the one its
    depth reaches (``reached = min(k, 2^{L−2})``), and where its pointers live in the stream.

    ``pointer_slots[h]`` is the column holding the target position of find^h, for h = 1, 2, 4, ...,
    2^{L−2}: :meth:`pointers` reads them out, so the doubling can be drawn layer by layer.
    """

    model: Transformer
    k: int
    reached: int
    pointer_slots: dict[int, int]

    @property
    def layers(self) -> int:
        return len(self.model.layers)

    @property
    def exact_depth(self) -> bool:
        """Whether the depth reaches k (``layers >= 2 + ⌈log₂ k⌉``)."""
        return self.reached == self.k

    def predict(self, tokens) -> np.ndarray:
        """The model's hop_k prediction at every position, (B, N), ``-1`` for ⊥."""
        return self.model.predict(tokens)

    def pointers(self, tokens) -> dict[int, np.ndarray]:
        """find^{2^j} as the model holds it after layer j + 2, at every position: 0-based positions,
        ``-1`` for none; keys 1, 2, 4, ..., 2^{L−2}.

        Examples
        --------
        >>> from commlab.problems.hop import find_k
        >>> c = build_hop_transformer(4, context=12, alphabet=5)
        >>> x = np.array([["abcde".index(ch) for ch in "baebcabebdea"]])
        >>> c.pointers(x)[2].tolist() == find_k(x, 2).tolist()
        True
        """
        streams = self.model.forward(tokens, keep=True).streams
        out = {}
        for hops, slot in self.pointer_slots.items():
            layer = 2 + hops.bit_length() - 1  # find^{2^j} is written by layer j + 2 (1-based)
            target = np.rint(streams[layer][:, 1:, slot]).astype(np.int64)
            out[hops] = target - 1  # row t holds 0-based position t − 1; BOS (t = 0) gives −1
        return out

    def save(self, path: str | Path) -> None:
        """Write the weights (and k, the depth's reach and the pointer slots) to an ``.npz`` file."""
        self.model.save(path)


def build_hop_transformer(k: int, context: int, alphabet: int, layers: int | None = None) -> HopConstruction:
    """The transformer of the module docstring for hop_k on sequences of up to ``context`` tokens.

    Parameters
    ----------
    k : int
        Hop count (>= 1).
    context : int
        Longest sequence N the model takes.
    alphabet : int
        |Σ| (>= 1).
    layers : int, optional
        Depth L (>= 2). Default 2 + ⌈log₂ k⌉, the least that reaches k; a smaller L builds the
        model that reaches ``min(k, 2^{L−2})`` hops (to measure how a shallower one fails); a
        larger one keeps doubling (still exact).

    Returns
    -------
    HopConstruction

    Raises
    ------
    InvalidParameter
        For k < 1, context < 1, alphabet < 1, layers < 2, or a (context, alphabet) whose scores
        would not be exact float64 integers at scale 1024 (module docstring).

    Examples
    --------
    >>> c = build_hop_transformer(3, context=12, alphabet=5)
    >>> x = np.array([["abcde".index(ch) for ch in "baebcabebdea"]])
    >>> c.layers, int(c.predict(x)[0, -1])  # hop_3 at position 12 is ⊥ (docs/theory.md §4)
    (4, -1)
    >>> from commlab.problems.hop import hop_k
    >>> bool((c.predict(x) == hop_k(x, 3)).all())
    True
    """
    _check_k(k)
    depth = ceil_depth(k) if layers is None else layers
    problems = [
        f"{what} must be an integer >= {low}, got {value!r}"
        for what, value, low in (("context", context, 1), ("alphabet", alphabet, 1), ("layers", depth, 2))
        if not isinstance(value, (int, np.integer)) or value < low
    ]
    if problems:
        raise InvalidParameter("; ".join(problems))
    c = 2 * (context + 1)
    largest = max(3 * context**2, c * (4 * alphabet**2 + 2 * alphabet + 1) + context)
    if SCALE * largest >= EXACT:
        raise InvalidParameter(
            f"context {context} with alphabet {alphabet} gives attention scores up to {largest}, too large "
            f"for exact float64 at scale {SCALE:g} (needs scale·score < 2^53); use a shorter context or alphabet"
        )
    lookups = depth - 2
    reached = min(k, 2**lookups)
    slots = _Slots("one", "pos", "pos2", "bos", "tok", "tok2", "prev", "prev2", "P1.t", "P1.tok", "P1.none")
    identity = (slots["pos"], slots["tok"], slots["bos"])
    accumulator = identity
    plan = []  # per lookup layer: (pointer register read, accumulator read or None, written slots)
    for j in range(1, lookups + 1):
        pointer = slots.register(f"P{2 ** (j - 1)}")
        new_pointer = tuple(slots.add(*(f"P{2**j}.{p}" for p in ("t", "tok", "none"))))
        if (reached >> (j - 1)) & 1 and reached != 2**lookups:
            new_accumulator = tuple(slots.add(*(f"A{j}.{p}" for p in ("t", "tok", "none"))))
            plan.append((pointer, accumulator, new_pointer + new_accumulator))
            accumulator = new_accumulator
        else:
            plan.append((pointer, None, new_pointer))
    out = slots.register(f"P{2**lookups}") if reached == 2**lookups else accumulator
    width = len(slots.index)

    def zeros(*shape):
        return np.zeros(shape)

    tokens = zeros(alphabet + 1, width)
    symbols = np.arange(alphabet, dtype=np.float64)
    tokens[:alphabet, slots["tok"]], tokens[:alphabet, slots["tok2"]] = symbols, symbols**2
    tokens[alphabet, [slots["tok"], slots["tok2"], slots["bos"]]] = (-1.0, 1.0, 1.0)
    positions = zeros(context + 1, width)
    where = np.arange(context + 1, dtype=np.float64)
    positions[:, slots["one"]], positions[:, slots["pos"]], positions[:, slots["pos2"]] = 1.0, where, where**2

    def lookup_at(target: int, values: tuple[int, ...], written: tuple[int, ...]) -> AttentionLayer:
        """A head attending to the position held in column ``target``: score 2·t·j − j²."""
        query, key, value, output = (
            zeros(width, HEAD),
            zeros(width, HEAD),
            zeros(width, VALUE),
            zeros(VALUE, width),
        )
        query[target, 0], query[slots["one"], 1] = 2.0, -1.0
        key[slots["pos"], 0], key[slots["pos2"], 1] = 1.0, 1.0
        for column, (read, write) in enumerate(zip(values, written, strict=True)):
            value[read, column], output[column, write] = 1.0, 1.0
        return AttentionLayer(query, key, value, output, SCALE)

    # Layer 1: the query is 2(i − 1) = 2·pos − 2·one, built into a column of its own.
    previous = lookup_at(slots["pos"], (slots["tok"], slots["tok2"]), (slots["prev"], slots["prev2"]))
    previous.query[slots["one"], 0] = -2.0
    # Layer 2: last occurrence of the current token as a previous token.
    query, key, value, output = (
        zeros(width, HEAD),
        zeros(width, HEAD),
        zeros(width, VALUE),
        zeros(VALUE, width),
    )
    query[slots["tok"], 0], key[slots["prev"], 0] = 2.0 * c, 1.0
    query[slots["one"], 1], key[slots["prev2"], 1] = -float(c), 1.0
    query[slots["one"], 2], key[slots["pos"], 2] = 1.0, 1.0
    query[[slots["tok2"], slots["tok"], slots["one"]], 3], key[slots["bos"], 3] = (c, 2.0 * c, c), 1.0
    for column, (read, write) in enumerate(zip(identity, slots.register("P1"), strict=True)):
        value[read, column], output[column, write] = 1.0, 1.0
    stack = [previous, AttentionLayer(query, key, value, output, SCALE)]
    for pointer, acc, written in plan:
        stack.append(lookup_at(pointer[0], pointer + (acc or ()), written))

    readout = zeros(width, alphabet + 1)
    readout[out[1], :alphabet], readout[slots["one"], :alphabet] = 2.0 * symbols, -(symbols**2)
    readout[out[2], alphabet], readout[slots["one"], alphabet] = float(alphabet**2), -0.5

    pointer_slots = {2**j: slots[f"P{2**j}.t"] for j in range(lookups + 1)}
    info = {"k": int(k), "reached": int(reached), "layers": int(depth)}
    info.update({f"pointer_slot_{h}": s for h, s in pointer_slots.items()})
    name = f"hop_{k} construction (L = {depth})"
    model = Transformer(alphabet, tokens, positions, tuple(stack), readout, "float64", name, info)
    return HopConstruction(model, int(k), int(reached), pointer_slots)


def load_hop_construction(path: str | Path) -> HopConstruction:
    """A construction saved with :meth:`HopConstruction.save`.

    Raises
    ------
    InvalidParameter
        If the file is not a transformer, or lacks the construction's metadata (k, reached,
        pointer slots).
    """
    model = load_transformer(path)
    info = model.info
    missing = [key for key in ("k", "reached", "layers") if key not in info]
    if missing:
        raise InvalidParameter(f"{str(path)!r} holds a transformer but not a hop construction (no {missing})")
    slots = {int(key.rsplit("_", 1)[1]): int(v) for key, v in info.items() if key.startswith("pointer_slot_")}
    model = Transformer(
        model.alphabet,
        model.token_embedding,
        model.position_embedding,
        model.layers,
        model.readout,
        model.fmt,
        f"hop_{int(info['k'])} construction (L = {int(info['layers'])})",
        info,
    )
    return HopConstruction(model, int(info["k"]), int(info["reached"]), slots)


def _accuracy_row(correct_sequences: int, trials: int, positions: float, last: int) -> dict:
    from commlab.analysis.stats import clopper_pearson

    return {
        "accuracy": correct_sequences / trials,
        "accuracy_ci": list(clopper_pearson(correct_sequences, trials)),
        "position_accuracy": positions,
        "last_position_accuracy": last / trials,
        "last_position_accuracy_ci": list(clopper_pearson(last, trials)),
    }


def measure_hop_construction(
    k: int, n: int, alphabet: int, trials: int, seed: int = 0, layers: int | None = None
) -> dict:
    """Run the construction on ``trials`` uniform random sequences (repeats and fixed points
    allowed) and compare it with hop_k at every position.

    ``accuracy`` is the fraction of sequences right at *every* position (with its 95 %
    Clopper–Pearson interval); ``position_accuracy`` pools positions; ``last_position_accuracy``
    is the pointer-chasing measure hop_k(X)_N. With the default depth, and k not a power of two, the
    paper's ⌊log₂ k⌋ + 2 is run too and reported under ``floor_form``.

    Examples
    --------
    >>> r = measure_hop_construction(3, n=64, alphabet=4, trials=50)
    >>> r["layers"], r["accuracy"], r["floor_form"]["layers"], r["floor_form"]["accuracy"] < 1
    (4, 1.0, 3, True)
    """
    from commlab.problems.hop import hop_k

    if not isinstance(trials, (int, np.integer)) or trials < 1:
        raise InvalidParameter(f"trials must be an integer >= 1, got {trials!r}")
    construction = build_hop_transformer(k, n, alphabet, layers)
    tokens = np.random.default_rng(seed).integers(0, alphabet, size=(trials, n))
    truth = hop_k(tokens, k)

    def score(model: HopConstruction) -> dict:
        right = model.predict(tokens) == truth
        return _accuracy_row(
            int(right.all(axis=1).sum()), trials, float(right.mean()), int(right[:, -1].sum())
        )

    depth = construction.layers
    rule = (
        "2 + ceil(log2 k)"
        if depth == ceil_depth(k)
        else "floor(log2 k) + 2"
        if depth == floor_depth(k)
        else "chosen"
    )
    report = {
        "k": int(k),
        "layers": depth,
        "depth_rule": rule,
        "needed_layers": ceil_depth(k),
        "reached": construction.reached,
        "n": int(n),
        "alphabet": int(alphabet),
        "trials": int(trials),
        "seed": int(seed),
        "scale": SCALE,
        **score(construction),
    }
    if layers is None and floor_depth(k) != depth:
        shallow = build_hop_transformer(k, n, alphabet, floor_depth(k))
        report["floor_form"] = {"layers": shallow.layers, "reached": shallow.reached, **score(shallow)}
    return report
