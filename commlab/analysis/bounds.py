r"""The lower bounds of docs/theory.md §3, §5 and §6 as sympy expressions, with the theorem's
constant ``c`` an explicit symbol.

**One constant.** Assadi and N prove that a (k, R, s) protocol with R < k rounds that solves (q, k)
pointer chasing with probability ≥ 2/3 sends s ≥ c·q/k⁵ bits per message, for some absolute c they
do not give. Every bound stated in the sequence length N (hop_k and the architecture corollaries of
SHT24) is that same inequality with the layer size of the encoding, q = N/(2k) (N = 2kq + 1,
docs/theory.md §5), substituted: c·q/k⁵ = c·N/(2k⁶), with the *same* c. The factor 2 is printed,
and every statement shows the conversion. (For N = 2kq + 1 exactly, ⌊N/(2k)⌋ = q and the N-form
overstates c·q/k⁵ by c/(2k⁶) bits: c/128 at k = 2, less for larger k.) Numeric evaluations take ``c = 1`` unless told,
and say so.

**Vacuous bounds.** A bound that demands at most one bit per message says nothing: every protocol
that beats guessing already sends a bit (with s = 0, P_1 never hears of E_2..E_k and is right half
the time). :meth:`Bound.is_vacuous` says when that happens (for instance every bound at k = 8,
N = 10⁵ and c = 1).

**What a measurement says.** With c unknown no run can contradict a bound. A run is evidence the
other way: a protocol (or compiled model) with R < k rounds that succeeds with probability ≥ 2/3 is
an upper bound, so the theorem's constant is at most s·k⁵/q (:func:`constant_ceiling`).

Symbols: q (layer size), k (hops / players), N (sequence length), s (bits per message), R (rounds),
L (layers), m (state or embedding width), p (bits per number), H (heads), r (kernel rank m′),
w (window), g (global-token spacing), T (chain-of-thought tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from commlab.errors import InvalidParameter

__all__ = [
    "ASSADI_N",
    "BOUNDS",
    "IN_TERMS_OF_N",
    "Bound",
    "ConstantCeiling",
    "N",
    "Requirement",
    "SYMBOLS",
    "c",
    "constant_ceiling",
    "critical_length",
    "evaluate_all",
    "get_bound",
    "k",
    "q",
    "s",
]

c, q, k, N, s, R, L, m, p, H, r, w, g, T = sp.symbols("c q k N s R L m p H r w g T", positive=True)
SYMBOLS = {str(x): x for x in (c, q, k, N, s, R, L, m, p, H, r, w, g, T)}

#: Assadi & N 2021, Prop 4.12: the bits per message a protocol with fewer than k rounds needs.
ASSADI_N = c * q / k**5
#: The same bound in the sequence length of the hop_k encoding, q = N/(2k) (SHT24 Prop E.4).
IN_TERMS_OF_N = ASSADI_N.subs(q, N / (2 * k))
#: At most this many bits per message, a bound says nothing (see the module docstring).
VACUOUS_BITS = 1.0


def _positive_finite(name: str, value) -> sp.Expr:
    """``value`` as an exact sympy number, refusing anything but a positive finite real."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise InvalidParameter(f"{name} must be a positive finite number, got {value!r}")
    return sp.nsimplify(value)


@dataclass(frozen=True)
class Requirement:
    """What a model parameter must satisfy to escape a bound: ``symbol >= value`` when
    ``at_least`` (a wider state, more layers), ``symbol <= value`` otherwise (a sparser global-token
    spacing g makes the Longformer's message smaller, so g must stay *below* its value).
    ``value`` may be 0 (every positive value escapes, for ``at_least``) or ``inf``."""

    symbol: str
    value: float
    at_least: bool

    def __str__(self) -> str:
        return f"{self.symbol} {'>=' if self.at_least else '<='} {self.value:.6g}"

    def __float__(self) -> float:
        return self.value


@dataclass(frozen=True)
class Bound:
    """A lower bound of the form ``rounds >= k  or  message >= required``.

    Attributes
    ----------
    name : str
        Short name (``assadi-n``, ``hop-k``, ``rnn``, ``kernel``, ``longformer``, ``cot``).
    message : sympy expression
        Bits per message in the model's parameters (``s`` for a bare protocol).
    rounds : sympy expression
        The number of rounds the model gets (R, L, or T + 1).
    size : sympy symbol
        The task size the bound grows with (q or N); :meth:`critical` solves for it.
    reference : str
        Paper and theorem number.
    """

    name: str
    message: sp.Expr
    rounds: sp.Expr
    size: sp.Symbol
    reference: str

    @property
    def required(self) -> sp.Expr:
        """What the theorem demands of ``message`` when the rounds fall short of k: c·q/k⁵, or the
        same in N, c·N/(2k⁶)."""
        return ASSADI_N if self.size == q else IN_TERMS_OF_N

    @property
    def parameters(self) -> set[str]:
        """The symbols a numeric evaluation of this bound needs."""
        symbols = self.message.free_symbols | self.required.free_symbols | self.rounds.free_symbols | {k}
        return {str(x) for x in symbols}

    def text(self) -> str:
        """The bound in plain text, with the conversion from Assadi–N's q-form when stated in N."""
        main = f"{sp.sstr(self.rounds)} >= k  or  {sp.sstr(self.message)} >= {sp.sstr(self.required)}"
        return main if self.size == q else f"{main}  (= c*q/k**5 at q = N/(2*k))"

    def latex(self) -> str:
        """The bound in LaTeX, with the conversion from Assadi–N's q-form when stated in N."""
        main = rf"{sp.latex(self.rounds)} \ge k \;\text{{or}}\; {sp.latex(self.message)} \ge {sp.latex(self.required)}"
        if self.size == q:
            return main
        return rf"{main} = {sp.latex(ASSADI_N)} \;\text{{at}}\; q = \frac{{N}}{{2k}}"

    def _subs(self, values: dict) -> dict:
        unknown = set(values) - set(SYMBOLS)
        if unknown:
            raise InvalidParameter(f"unknown symbol(s) {sorted(unknown)}; use {', '.join(SYMBOLS)}")
        return {SYMBOLS[name]: _positive_finite(name, v) for name, v in values.items()}

    def _missing(self, expr: sp.Expr, values: dict, what: str) -> None:
        missing = sorted(str(x) for x in expr.free_symbols if str(x) not in values)
        if missing:
            raise InvalidParameter(f"{what} of the {self.name} bound needs a value for {', '.join(missing)}")

    def required_bits(self, **values) -> float:
        """The bits per message the bound demands, e.g. ``required_bits(N=1e5, k=8, c=1)``."""
        values.setdefault("c", 1)
        subs = self._subs(values)
        self._missing(self.required, values, "the requirement")
        return float(self.required.subs(subs))

    def is_vacuous(self, **values) -> bool:
        """Whether the bound demands at most one bit per message (``c`` defaults to 1): then it
        forbids nothing that guessing does not already rule out.

        Examples
        --------
        >>> get_bound("hop-k").is_vacuous(N=10**5, k=8)
        True
        """
        return self.required_bits(**values) <= VACUOUS_BITS

    def applies(self, **values) -> bool:
        """Whether the rounds fall short of k, so the bits requirement binds.

        Examples
        --------
        >>> get_bound("assadi-n").applies(R=3, k=4), get_bound("cot").applies(T=3, k=4)
        (True, False)
        """
        if "k" not in values:
            raise InvalidParameter(f"applies() of the {self.name} bound needs k")
        subs = self._subs(values)
        self._missing(self.rounds, values, "the rounds")
        return bool(self.rounds.subs(subs) < subs[k])

    def critical(self) -> sp.Expr:
        """The task size beyond which no model with these parameters can succeed (when its rounds
        are fewer than k): the solution of ``message = required`` for ``size``; ``oo`` if none."""
        solutions = [
            x for x in sp.solve(sp.Eq(self.message, self.required), self.size) if x.is_positive is not False
        ]
        return sp.simplify(solutions[0]) if solutions else sp.oo

    def critical_value(self, **values) -> float:
        """:meth:`critical` evaluated (``c`` defaults to 1); ``inf`` when the bound never binds."""
        values.setdefault("c", 1)
        value = self.critical().subs(self._subs(values))
        return float(value) if value.is_real and value > 0 else float("inf")

    def largest_constant(self, **values) -> float:
        r"""The largest c consistent with a model of these parameters that succeeds with fewer than
        k rounds: the c at which ``message = required``, e.g. :math:`s k^5 / q` for Assadi–N.

        Examples
        --------
        >>> get_bound("assadi-n").largest_constant(s=2, q=128, k=4)
        16.0
        """
        if "c" in values:
            raise InvalidParameter("largest_constant() solves for c; do not give it")
        per_unit_c = self.required / c
        subs = self._subs(values)
        self._missing(self.message + per_unit_c, values, "largest_constant()")
        return float(self.message.subs(subs) / per_unit_c.subs(subs))

    def needed(self, symbol: str, **values) -> Requirement:
        """What one model parameter must satisfy to escape the bound, the others fixed.

        For a parameter of the message (a width m, a kernel rank r, heads H, precision p, a window
        w): the message grows with it, so it must be *at least* the value at which
        ``message = required``. The Longformer's global-token spacing g shrinks the message, so g must
        be *at most* that value. For the rounds parameter (L layers, T chain-of-thought tokens): at
        least the value at which the rounds reach k (e.g. T = k − 1 for Cor 5.6), needed when the
        message is too small.

        Returns
        -------
        Requirement
            ``symbol``, ``value`` and ``at_least`` (the direction); ``float()`` gives the value.

        Examples
        --------
        >>> str(get_bound("rnn").needed("m", N=10**7, k=4, p=32))  # width below k layers
        'm >= 38.147'
        >>> str(get_bound("cot").needed("T", k=6))
        'T >= 5'
        >>> get_bound("longformer").needed("g", N=10**7, k=2, w=1, m=1, H=1, p=1).at_least
        False
        """
        free = self.message.free_symbols | self.rounds.free_symbols
        if symbol not in SYMBOLS or SYMBOLS[symbol] not in free:
            names = sorted(str(x) for x in free)
            raise InvalidParameter(
                f"the {self.name} bound has no parameter {symbol!r}; it has {', '.join(names)}"
            )
        values.setdefault("c", 1)
        target = SYMBOLS[symbol]
        gap = self.rounds - k if target in self.rounds.free_symbols else self.message - self.required
        others = {name: v for name, v in values.items() if name != symbol}
        self._missing(gap.subs(target, 1), others, f"needed({symbol!r})")
        x = sp.Symbol("x", positive=True)
        gap = gap.subs(self._subs(others)).subs(target, x)
        slope = sp.diff(gap, x)
        if slope.is_positive:
            at_least = True
        elif slope.is_negative:
            at_least = False
        else:  # pragma: no cover - every bound here is monotone in each parameter
            raise InvalidParameter(f"the {self.name} bound is not monotone in {symbol}")
        roots = [float(root) for root in sp.solve(sp.Eq(gap, 0), x)]
        if roots:
            return Requirement(symbol, roots[0], at_least)
        # No positive root: the gap keeps one sign for every x > 0; read it at x = 1.
        escapes_everywhere = bool(gap.subs(x, 1) >= 0)
        if at_least:
            return Requirement(symbol, 0.0 if escapes_everywhere else math.inf, True)
        return Requirement(symbol, math.inf if escapes_everywhere else 0.0, False)


_R = SYMBOLS["R"]
BOUNDS: dict[str, Bound] = {
    "assadi-n": Bound(
        "assadi-n",
        s,
        _R,
        q,
        "Assadi & N, STOC 2021, Prop 4.12 (SHT24 Prop E.3); doi:10.1145/3406325.3451110",
    ),
    "hop-k": Bound(
        "hop-k",
        s,
        _R,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Prop E.4 with Prop E.3 (q = N/(2k)); arXiv:2402.09268",
    ),
    "rnn": Bound("rnn", m * p, L, N, "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.2; arXiv:2402.09268"),
    "kernel": Bound(
        "kernel", m * r * H * p, L, N, "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.3; arXiv:2402.09268"
    ),
    "longformer": Bound(
        "longformer",
        (w + N / (g * k)) * m * H * p,
        L,
        N,
        "Sanford, Hsu, Telgarsky, ICML 2024, Cor 5.4; arXiv:2402.09268",
    ),
    "cot": Bound(
        "cot",
        m * H * p,
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
    ``bits_per_message`` bits can solve hop_k: :math:`N^* = 2 s k^6 / c`, from
    :math:`s \ge c q / k^5` at :math:`q = N / (2k)`.

    References
    ----------
    S. Assadi and V. N. "Graph streaming lower bounds for parameter estimation and property testing
    via a streaming XOR lemma." STOC 2021, Prop 4.12. doi:10.1145/3406325.3451110.
    C. Sanford, D. Hsu and M. Telgarsky. ICML 2024, Prop E.3–E.4. arXiv:2402.09268.

    Examples
    --------
    >>> critical_length(2048, 4)  # 2 · 2048 · 4⁶
    16777216.0
    """
    return get_bound("hop-k").critical_value(s=bits_per_message, k=k_value, c=c_value)


@dataclass(frozen=True)
class ConstantCeiling:
    """What one successful run says about the constant of Assadi–N: ``c <= c_max``."""

    protocol: str
    q: int
    k: int
    rounds: int
    bits_per_message: int
    success: float
    success_ci: tuple[float, float]
    c_max: float

    def to_dict(self) -> dict:
        return {**self.__dict__, "success_ci": list(self.success_ci)}

    def __str__(self) -> str:
        return (
            f"c <= {self.c_max:.4g}: {self.protocol} solves q = {self.q}, k = {self.k} in R = "
            f"{self.rounds} < k rounds with {self.bits_per_message}-bit messages "
            f"(success {self.success:.3f}, 95% CI [{self.success_ci[0]:.3f}, {self.success_ci[1]:.3f}])"
        )


def constant_ceiling(
    protocol: str,
    *,
    q: int,
    k: int,
    rounds: int,
    bits_per_message: int,
    success: float,
    success_ci: tuple[float, float],
) -> ConstantCeiling:
    r"""The lab's empirical ceiling on the constant of Assadi–N from one run.

    A protocol (or a compiled model) with R < k rounds whose success on (q, k) pointer chasing is
    at least 2/3 — the lower end of its confidence interval, not the point estimate — satisfies the
    theorem, so :math:`s \ge c q / k^5` forces :math:`c \le s k^5 / q`.

    Raises
    ------
    InvalidParameter
        When the run says nothing about c: R ≥ k (the bound makes no claim) or success not
        established (the interval reaches below 2/3).

    Examples
    --------
    >>> print(constant_ceiling("chunked", q=128, k=4, rounds=3, bits_per_message=43,
    ...                        success=1.0, success_ci=(0.99, 1.0)))
    c <= 344: chunked solves q = 128, k = 4 in R = 3 < k rounds with 43-bit messages (success 1.000, 95% CI [0.990, 1.000])
    """
    if rounds >= k:
        raise InvalidParameter(f"a run with R = {rounds} >= k = {k} rounds says nothing about c")
    if not success_ci[0] >= 2 / 3:
        raise InvalidParameter(
            f"success of {protocol} is not established (95% CI starts at {success_ci[0]:.3f} < 2/3); "
            "run more trials or a larger budget"
        )
    c_max = get_bound("assadi-n").largest_constant(s=bits_per_message, q=q, k=k)
    return ConstantCeiling(protocol, q, k, rounds, bits_per_message, success, tuple(success_ci), c_max)


def evaluate_all(k_value: int, n_value: float, c_value: float = 1.0) -> list[dict]:
    """Every bound at hop count ``k_value`` and sequence length ``n_value``: the bits per message
    each demands of protocols (or of its architecture's message quantity) with fewer than k rounds,
    and whether that is vacuous (at most one bit). Assadi–N is stated for the layer size
    q = ⌊n/(2k)⌋ of the hop_k encoding.

    Raises
    ------
    InvalidParameter
        Naming every bad value: k not an integer ≥ 1, n or c not positive and finite, or n too short
        to hold one layer of the encoding (n < 2k).

    Examples
    --------
    >>> rows = evaluate_all(8, 100000)
    >>> [(r["name"], round(r["required_bits"], 4), r["vacuous"]) for r in rows][:2]
    [('assadi-n', 0.1907, True), ('hop-k', 0.1907, True)]
    """
    problems = []
    if isinstance(k_value, bool) or not isinstance(k_value, (int, sp.Integer)) or k_value < 1:
        problems.append(f"k must be an integer >= 1, got {k_value!r}")
    for name, value in (("n", n_value), ("c", c_value)):
        try:
            _positive_finite(name, value)
        except InvalidParameter as error:
            problems.append(str(error))
    if not problems and int(n_value) // (2 * k_value) < 1:
        problems.append(
            f"n = {n_value:g} is shorter than one layer of the encoding at k = {k_value} (needs n >= 2k = {2 * k_value})"
        )
    if problems:
        raise InvalidParameter("; ".join(problems))
    q_value = int(n_value) // (2 * k_value)
    rows = []
    for bound in BOUNDS.values():
        size = {"q": q_value} if bound.size == q else {"N": n_value}
        required = bound.required_bits(c=c_value, k=k_value, **size)
        rows.append(
            {
                "name": bound.name,
                "statement": bound.text(),
                "latex": bound.latex(),
                "constrains": sp.sstr(bound.message),
                "required_bits": required,
                "vacuous": required <= VACUOUS_BITS,
                **size,
                "reference": bound.reference,
            }
        )
    return rows
