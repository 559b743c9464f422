"""The k-hop task in the format of SHT24's released experiments, and its evaluation rule.

Token map (exactly the released one, ``InductionHopsFullSequenceTask``): with ``h = max_hops −
min_hops + 1`` hop-count tokens and ``c`` characters,

- hop count k ↦ ``k − min_hops`` (tokens ``0 .. h−1``),
- character j ↦ ``h + j`` (tokens ``h .. h+c−1``),
- ⊥ ↦ ``h + c`` and blank ↦ ``h + c + 1`` (so ``h + c + 2`` tokens; the paper's 4 characters and
  k ∈ 0..16 use 23 of a vocabulary of 30).

A sequence X of ``seq_len`` characters with no two equal neighbours and one hop count k gives
an input of ``seq_len − 1`` tokens, ``[k] + X[0 .. seq_len−3]``, and a target of the same length,
``[blank] + hop_k(X)[0 .. seq_len−3]`` (⊥ where hop_k is undefined): at position t ≥ 1 the model has
read X[0..t−1] and must name hop_k(X) at t − 1. The characters come from the lab's vectorised
generator (:func:`~commlab.problems.hop.sample_hop_data`), which draws the same distribution as the
released loop (first character uniform, each next one uniform over the other c − 1).

Evaluation rule (docs/evaluation.md): the model's output at each position is the argmax over all
its scores (the released models use the 128-wide final hidden state directly); the error for a k
is the fraction of wrong predictions over the positions whose target is neither ⊥ nor blank, on
fresh sequences. The released training loop logged errors over all positions instead; see the
docs for the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commlab.errors import InvalidParameter
from commlab.problems.hop import BOTTOM, sample_hop_data

__all__ = ["PaperTask"]


@dataclass(frozen=True)
class PaperTask:
    """The released task's parameters (``training.task_kwargs`` of a run's ``config.yaml``).

    Examples
    --------
    >>> task = PaperTask()
    >>> task.vocabulary, task.char_token(0), task.bottom, task.blank
    (23, 17, 21, 22)
    >>> inputs, targets = task.sample(2, k=1, seed=0)
    >>> inputs.shape, int(inputs[0, 0]), int(targets[0, 0]) == task.blank
    ((2, 99), 1, True)
    """

    char_tokens: int = 4
    max_hops: int = 16
    min_hops: int = 0
    seq_len: int = 100

    def __post_init__(self):
        problems = [
            f"{name} must be an integer >= {low}, got {value!r}"
            for name, low in (("char_tokens", 2), ("min_hops", 0), ("seq_len", 3))
            if not isinstance(value := getattr(self, name), int) or isinstance(value, bool) or value < low
        ]
        if (
            not isinstance(self.max_hops, int)
            or isinstance(self.max_hops, bool)
            or self.max_hops < self.min_hops
        ):
            problems.append(f"max_hops must be an integer >= min_hops, got {self.max_hops!r}")
        if problems:
            raise InvalidParameter("invalid task parameters: " + "; ".join(problems))

    @classmethod
    def from_kwargs(cls, kwargs: dict) -> PaperTask:
        """From a config's ``task_kwargs``; unknown keys are refused by name."""
        unknown = sorted(set(kwargs) - {"char_tokens", "max_hops", "min_hops", "seq_len"})
        if unknown:
            raise InvalidParameter(
                f"unknown task_kwargs {unknown}; expected char_tokens, max_hops, min_hops, seq_len"
            )
        return cls(**kwargs)

    @property
    def hop_tokens(self) -> int:
        return self.max_hops - self.min_hops + 1

    @property
    def bottom(self) -> int:
        """The token for ⊥."""
        return self.hop_tokens + self.char_tokens

    @property
    def blank(self) -> int:
        """The token of the target's first position."""
        return self.hop_tokens + self.char_tokens + 1

    @property
    def vocabulary(self) -> int:
        """Tokens the task uses (a model's vocabulary may be larger)."""
        return self.hop_tokens + self.char_tokens + 2

    def char_token(self, char: int) -> int:
        return self.hop_tokens + char

    def check_k(self, k: int) -> int:
        if not isinstance(k, (int, np.integer)) or not self.min_hops <= k <= self.max_hops:
            raise InvalidParameter(f"k must lie in {self.min_hops}..{self.max_hops} for this task, got {k}")
        return int(k)

    def encode(self, chars: np.ndarray, k: np.ndarray, hops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Characters (B, seq_len), hop counts (B,) and hop_k of the characters (B, seq_len; −1 = ⊥)
        to the released (inputs, targets), each (B, seq_len − 1)."""
        body = self.seq_len - 2
        inputs = np.empty((len(chars), self.seq_len - 1), dtype=np.int64)
        inputs[:, 0] = np.asarray(k) - self.min_hops
        inputs[:, 1:] = self.hop_tokens + chars[:, :body]
        targets = np.empty_like(inputs)
        targets[:, 0] = self.blank
        hop = hops[:, :body]
        targets[:, 1:] = np.where(hop == BOTTOM, self.bottom, self.hop_tokens + hop)
        return inputs, targets

    def sample(self, count: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` fresh sequences with hop count ``k``, as (inputs, targets)."""
        data = sample_hop_data(count, self.seq_len, self.char_tokens, self.check_k(k), seed)
        return self.encode(data.inputs, data.k, data.targets)

    def counted(self, targets: np.ndarray) -> np.ndarray:
        """The positions the error is measured on: targets neither ⊥ nor blank."""
        return (targets != self.bottom) & (targets != self.blank)
