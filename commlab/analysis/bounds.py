r"""The lower bounds of docs/theory.md §3, §5 and §6 as sympy expressions, with the hidden constant ``c``
an explicit symbol.

Each :class:`Bound` says: a protocol (or model) with fewer rounds than ``k`` that solves the task
with probability ≥ 2/3 must spend at least ``required`` bits per message, where ``required`` is
``c`` times the task size over a power of ``k``; the architecture corollaries state it in the
model's own parameters (``message``). Every function cites its theorem. No constant is given by the
theorems: ``c`` is never hidden, and every numeric evaluation names the value used (default 1).

Symbols: q (layer size), k (hops / players), N (sequence length), s (bits per message), L (layers),
m (state or embedding width), p (bits per number), H (heads), r (kernel rank m′), w (window), g
(global-token spacing), T (chain-of-thought tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from commlab.errors import BoundInconsistency, InvalidParameter

__all__ = [
    "BOUNDS",
    "Bound",
    "N",
    "SYMBOLS",
    "c",
    "check_measurement",
    "critical_length",
    "evaluate_all",
    "get_bound",
    "k",
    "q",
    "s",
]

c, q, k, N, s, L, m, p, H, r, w, g, T = sp.symbols("c q k N s L m p H r w g T", positive=True)
SYMBOLS = {str(x): x for x in (c, q, k, N, s, L, m, p, H, r, w, g, T)}


@dataclass(frozen=True)
class Bound:
    """A lower bound of the form ``rounds_escape or message >= required``.

    Attributes
    ----------
    name : str
        Short name (``assadi-n``, ``hop-k``, ``rnn``, ``kernel``, ``longformer``, ``cot``).
    message : sympy expression
        Bits per message in the model's parameters (``s`` for a bare protocol).
    required : sympy expression
        What the theorem demands of ``message`` when the rounds do not suffice (contains ``c``).
    rounds : sympy expression
        The number of rounds the model gets (R, L, or T + 1).
    size : sympy symbol
        The task size the bound grows with (q or N); :meth:`critical` solves for it.
    reference : str
        Paper and theorem number.
    """

    name: str
    message: sp.Expr
    required: sp.Expr
    rounds: sp.Expr
    size: sp.Symbol
    reference: str

    def text(self) -> str:
        """The bound in plain text."""
        return f"{sp.sstr(self.rounds)} >= k  or  {sp.sstr(self.message)} >= {sp.sstr(self.required)}"

    def latex(self) -> str:
        """The bound in LaTeX."""
        return rf"{sp.latex(self.rounds)} \ge k \;\text{{or}}\; {sp.latex(self.message)} \ge {sp.latex(self.required)}"

    def _subs(self, values: dict) -> dict:
        unknown = set(values) - set(SYMBOLS)
        if unknown:
            raise InvalidParameter(f"unknown symbol(s) {sorted(unknown)}; use {', '.join(SYMBOLS)}")
        bad = {name: v for name, v in values.items() if v is None or not float(v) > 0}
        if bad:
            raise InvalidParameter(f"bound parameters must be positive numbers, got {bad}")
        return {SYMBOLS[name]: sp.nsimplify(v) for name, v in values.items()}

    def required_bits(self, **values) -> float:
        """The bits per message the bound demands, e.g. ``required_bits(N=1e5, k=8, c=1)``."""
        values.setdefault("c", 1)
        return float(self.required.subs(self._subs(values)))

    def applies(self, **values) -> bool:
        """Whether the rounds fall short of k, so the bits requirement binds."""
        return bool(self.rounds.subs(self._subs(values)) < values["k"])

    def critical(self) -> sp.Expr:
        """The task size beyond which no model with these parameters can succeed (when its rounds
        are fewer than k): the solution of ``message = required`` for ``size``; ``oo`` if none."""
        solutions = [
            x for x in sp.solve(sp.Eq(self.message, self.required), self.size) if x.is_positive is not False
        ]
        return sp.simplify(solutions[0]) if solutions else sp.oo

    def needed(self, symbol: str, **values) -> float:
        """The smallest value of one model parameter that escapes the bound, the others fixed.

        For a parameter of the message (a width m, a kernel rank r, heads H, precision p): the
        value at which ``message = required``, below which the model fails while its rounds are
        fewer than k. For the rounds parameter (L layers, T chain-of-thought tokens): the value at
        which the rounds reach k (e.g. T = k − 1 for Cor 5.6), needed when the message is too small.

        Examples
        --------
        >>> get_bound("rnn").needed("m", N=10**7, k=4, p=32)  # width an RNN needs below k layers
        76.2939453125
        >>> get_bound("cot").needed("T", k=6)
        5.0
        """
        if symbol not in SYMBOLS or SYMBOLS[symbol] not in (
            self.message.free_symbols | self.rounds.free_symbols
        ):
            names = sorted(str(x) for x in (self.message.free_symbols | self.rounds.free_symbols))
            raise InvalidParameter(
                f"the {self.name} bound has no parameter {symbol!r}; it has {', '.join(names)}"
            )
        values.setdefault("c", 1)
        target = SYMBOLS[symbol]
        equation = (
            sp.Eq(self.rounds, k)
            if target in self.rounds.free_symbols
            else sp.Eq(self.message, self.required)
        )
        unknown = sp.Symbol("unknown", real=True)  # our symbols are positive; a solution may not be
        fixed = equation.subs(target, unknown).subs(self._subs(values))
        solutions = [x for x in sp.solve(fixed, unknown) if x.is_real is not False]
        if not solutions:
            return float("inf")
        return max(float(solutions[0]), 0.0)  # a negative solution: every value escapes the bound

    def critical_value(self, **values) -> float:
        """:meth:`critical` evaluated (``c`` defaults to 1); ``inf`` when the bound never binds."""
        values.setdefault("c", 1)
        value = self.critical().subs(self._subs(values))
        return float(value) if value.is_real and value > 0 else float("inf")


BOUNDS: dict[str, Bound] = {
    "assadi-n": Bound(
        "assadi-n",
        s,
        c * q / k**5,
        sp.Symbol("R", positive=True),
        q,
        "Assadi & N, STOC 2021, Prop 4.12 (SHT24 Prop E.3); doi:10.1145/3406325.3451110",
    ),
    "hop-k": Bound(
        "hop-k",
        s,
        c * N / k**6,
        sp.Symbol("R", positive=True),
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Prop E.4 with Prop E.3 (q = N/(2k)); arXiv:2402.09268",
    ),
    "rnn": Bound(
        "rnn",
        m * p,
        c * N / k**6,
        L,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.2; arXiv:2402.09268",
    ),
    "kernel": Bound(
        "kernel",
        m * r * H * p,
        c * N / k**6,
        L,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.3; arXiv:2402.09268",
    ),
    "longformer": Bound(
        "longformer",
        (w + N / (g * k)) * m * H * p,
        c * N / k**6,
        L,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.4; arXiv:2402.09268",
    ),
    "cot": Bound(
        "cot",
        m * H * p,
        c * N / k**6,
        T + 1,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.6 (corrected: N_CoT + 1 >= k); arXiv:2402.09268",
    ),
}


def get_bound(name: str) -> Bound:
    """The bound called ``name`` (see :data:`BOUNDS`)."""
    if name not in BOUNDS:
        raise InvalidParameter(f"unknown bound {name!r}; choose one of {', '.join(BOUNDS)}")
    return BOUNDS[name]


def critical_length(bits_per_message: float, k_value: int, c_value: float = 1.0) -> float:
    r"""The sequence length N beyond which no protocol with fewer than k rounds and messages of
    ``bits_per_message`` bits can solve hop_k: :math:`N^* = s k^6 / c` (SHT24 Prop E.3–E.4).

    Examples
    --------
    >>> critical_length(2048, 4)
    8388608.0
    """
    return get_bound("hop-k").critical_value(s=bits_per_message, k=k_value, c=c_value)


def check_measurement(
    bound: str, success: float, bits: float, rounds: int, c_value: float = 1.0, **values
) -> None:
    """Refuse a measurement that claims what a theorem forbids.

    A run with fewer rounds than k that succeeds with probability ≥ 2/3 using fewer bits per
    message than the bound requires (for the given ``c``) is an accounting bug: bits went
    uncounted.

    Raises
    ------
    BoundInconsistency
    """
    if rounds >= values["k"] or success < 2 / 3:
        return
    required = get_bound(bound).required_bits(c=c_value, **values)
    if bits < required:
        raise BoundInconsistency(
            f"measured success {success:.3f} with {rounds} < k = {values['k']} rounds and {bits} bits per "
            f"message, below the {bound} bound's {required:.4g} bits (c = {c_value}): bits went uncounted"
        )


def evaluate_all(k_value: int, n_value: float, c_value: float = 1.0) -> list[dict]:
    """Every bound at hop count ``k_value`` and sequence length ``n_value``: the bits per message
    each demands of protocols (or of its architecture's message quantity) with fewer than k rounds.
    Assadi–N is stated for the layer size q = ⌊n/(2k)⌋ of the hop_k encoding.

    Examples
    --------
    >>> rows = evaluate_all(8, 100000)
    >>> [(r["name"], round(r["required_bits"], 4)) for r in rows][:2]
    [('assadi-n', 0.1907), ('hop-k', 0.3815)]
    """
    problems = []
    if not isinstance(k_value, (int, sp.Integer)) or k_value < 1:
        problems.append(f"k must be an integer >= 1, got {k_value}")
    if not n_value > 0:
        problems.append(f"n must be positive, got {n_value}")
    if not c_value > 0:
        problems.append(f"c must be positive, got {c_value}")
    if problems:
        raise InvalidParameter("; ".join(problems))
    q_value = max(int(n_value) // (2 * k_value), 1)
    rows = []
    for bound in BOUNDS.values():
        size = {"q": q_value} if bound.size == q else {"N": n_value}
        rows.append(
            {
                "name": bound.name,
                "statement": bound.text(),
                "latex": bound.latex(),
                "constrains": sp.sstr(bound.message),
                "required_bits": bound.required_bits(c=c_value, k=k_value, **size),
                **size,
                "reference": bound.reference,
            }
        )
    return rows
