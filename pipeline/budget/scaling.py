"""Parametric scaling laws L(N, D) = E + A / N^alpha + B / D^beta and compute-optimal allocation.

Fits:
- `chinchilla`: Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", Eq. 10 /
  Approach 3: E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28.
- `epoch-ai`: Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt" (Epoch AI):
  E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LossFit:
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str

    def loss(self, parameters: float, tokens: float) -> float:
        """Predicted pretraining loss (nats/token) of a model of `parameters` trained on `tokens`."""
        return self.E + self.A / parameters**self.alpha + self.B / tokens**self.beta


FITS = {
    "chinchilla": LossFit(1.69, 406.4, 410.7, 0.34, 0.28, "Hoffmann et al. 2022, Eq. 10"),
    "epoch-ai": LossFit(1.82, 482.01, 2085.43, 0.3478, 0.3658, "Besiroglu et al. 2024 (Epoch AI replication)"),
}

FLOPS_PER_PARAMETER_TOKEN = 6  # forward + backward pass of a dense transformer (Kaplan et al. 2020)


def optimal_by_rule(flops: float, tokens_per_parameter: float = 20.0) -> tuple[float, float]:
    """(N, D) with D = r·N and 6·N·D = C: the '20 tokens per parameter' rule of thumb."""
    parameters = math.sqrt(flops / (FLOPS_PER_PARAMETER_TOKEN * tokens_per_parameter))
    return parameters, tokens_per_parameter * parameters


def optimal_by_loss(flops: float, fit: LossFit) -> tuple[float, float]:
    """(N, D) minimising fit.loss subject to 6·N·D = C (Hoffmann et al., Eq. 4, closed form)."""
    a, b = fit.alpha, fit.beta
    g = (a * fit.A / (b * fit.B)) ** (1 / (a + b))
    budget = flops / FLOPS_PER_PARAMETER_TOKEN
    parameters = g * budget ** (b / (a + b))
    return parameters, budget / parameters


def parameters_for_tokens_by_loss(tokens: float, fit: LossFit) -> float:
    """The N whose loss-optimal allocation trains on exactly `tokens` (inverse of optimal_by_loss)."""
    a, b = fit.alpha, fit.beta
    g = (a * fit.A / (b * fit.B)) ** (1 / (a + b))
    # D = budget^(a/(a+b)) / g  =>  budget = (g·D)^((a+b)/a), then N = g·budget^(b/(a+b))
    budget = (g * tokens) ** ((a + b) / a)
    return g * budget ** (b / (a + b))
