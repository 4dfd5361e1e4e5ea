"""The report's bar charts, drawn alike: one horizontal bar per row, each labelled."""

from __future__ import annotations

from pathlib import Path


def horizontal_bars(path: Path, names: list[str], values: list[float], labels: list[str], *, xlabel: str,
                    title: str, color: str) -> None:  # fmt: skip
    """Bars top to bottom in the order given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    bars = ax.barh(names[::-1], values[::-1], color=color)
    ax.bar_label(bars, labels=labels[::-1], padding=3)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
