"""Reductions: encodings of problems into k-hop, and compilers of models into blackboard protocols."""
