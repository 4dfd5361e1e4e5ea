"""Diminishing returns of repeated data (Muennighoff et al. 2023, "Scaling Data-Constrained Language
Models", Eq. 5): training on U unique tokens for R extra epochs is worth
D' = U + U·R*·(1 − exp(−R/R*)) fresh tokens, with R* ≈ 15.4. Up to about 4 epochs repetition is
almost as good as new data; beyond that, returns fall fast."""

from __future__ import annotations

import math

REPETITION_HALF_LIFE = 15.4  # R*_D, fitted by Muennighoff et al.
EPOCHS_WORTH_IT = 4.0


def effective_tokens(unique_tokens: float, epochs: float) -> float:
    """Fresh-data equivalent of `epochs` passes over `unique_tokens` (epochs <= 1: just the tokens)."""
    if epochs <= 1:
        return unique_tokens * epochs
    repeats = epochs - 1
    return unique_tokens + unique_tokens * REPETITION_HALF_LIFE * (1 - math.exp(-repeats / REPETITION_HALF_LIFE))
