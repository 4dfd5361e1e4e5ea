"""Timing both sides of a comparison in one process, so machine noise hits both alike.

Each side runs `repeats` times, alternating, and the best time counts: the minimum is the least
disturbed measurement of the same work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Comparison:
    name: str
    unit: str  # what the rate counts, e.g. "docs/s"
    ours: float
    baseline: float
    baseline_name: str
    target: float | None = None  # the ratio we aim for, where an issue sets one
    floor: float | None = None  # the rate (in `unit`) ours must reach, where an issue sets one

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    def line(self) -> str:
        target = ""
        if self.target:
            target = f"  target >= {self.target:.3f}x {'met' if self.ratio >= self.target else 'MISSED'}"
        if self.floor:
            target += f"  target >= {self.floor:,.0f} {self.unit} {'met' if self.ours >= self.floor else 'MISSED'}"
        return (
            f"{self.name}: ours {_figure(self.ours)} {self.unit} | {self.baseline_name} {_figure(self.baseline)} "
            f"{self.unit} | ratio {self.ratio:.3f}x{target}"
        )

    def to_dict(self) -> dict:
        return asdict(self) | {"ratio": round(self.ratio, 3)}


def _figure(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 2 else f"{value:.4f}"  # rates below 100, or scores such as F1


def best_seconds(functions: list[Callable[[], object]], repeats: int = 5) -> list[float]:
    """The best wall time of each function over `repeats` alternating rounds."""
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - started)
    return best
