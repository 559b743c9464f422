"""The problems the argument is about: layered pointer chasing and k-hop induction heads
(docs/theory.md §2 and §4)."""

from commlab.problems.hop import BOTTOM, find_k, hop_k, hop_table, sample_hop_data
from commlab.problems.pointer_chasing import PointerChasing

__all__ = ["BOTTOM", "PointerChasing", "find_k", "hop_k", "hop_table", "sample_hop_data"]
