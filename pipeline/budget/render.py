"""A corpus budget as a Markdown report section, a terminal table, and a plot against the frontier."""

from __future__ import annotations

from pathlib import Path

from pipeline.budget.plan import CorpusBudget
from pipeline.budget.repetition import EPOCHS_WORTH_IT, REPETITION_HALF_LIFE
from pipeline.budget.scaling import FITS, optimal_by_loss


def si(value: float) -> str:
    """1.3e9 -> '1.3B', 2.5e6 -> '2.5M', with the suffixes model sizes are quoted in."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def percent(fraction: float) -> str:
    """Coverage as a percentage that stays informative when it is tiny: 0.0123 -> '1.2%', 1e-4 -> '0.01%'."""
    return f"{fraction:.0%}" if fraction >= 0.1 else f"{fraction * 100:.2g}%"


def dollars(value: float) -> str:
    return "$" + si(value).replace("K", "k")


def target_rows(budget: CorpusBudget) -> list[list[str]]:
    rows = []
    for t in budget.targets:
        epochs = f"{t.epochs:,.1f}" + (" (!)" if t.too_many_epochs else "")
        rows.append(
            [
                si(t.parameters),
                si(t.budget_tokens),
                percent(t.coverage),
                epochs,
                f"{t.predicted_loss:.3f}",
                f"{t.flops:.3g}",
                f"{t.gpu_hours:,.0f}",
                dollars(t.cost),
            ]
        )
    return rows


TARGET_HEADER = ["model", "budget tokens", "coverage", "epochs", "pred. loss", "FLOPs", "GPU-hours", "cost"]


def markdown(budget: CorpusBudget, plot_name: str | None = None) -> str:
    a = budget.assumptions
    kind = "counted with the run's tokenizer"
    if budget.bytes_per_token:
        kind = f"**estimated** from UTF-8 bytes at {budget.bytes_per_token:g} bytes per token: no tokenizer ran"
    fit = FITS[a.fit]
    lines = [
        "## Token budget",
        "",
        f"Unique tokens after the last stage: **{si(budget.tokens)}** ({kind}).",
        f"This corpus feeds a **{si(budget.optimal_parameters_rule)}**-parameter model compute-optimally at "
        f"{a.tokens_per_parameter:g} tokens per parameter, or **{si(budget.optimal_parameters_loss)}** by "
        f"minimising the {a.fit} loss fit.",
        "",
        "| " + " | ".join(TARGET_HEADER) + " |",
        "|" + "---:|" * len(TARGET_HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in target_rows(budget)]
    lines += [
        "",
        f"Budget = {a.tokens_per_parameter:g} tokens/parameter (Hoffmann et al. 2022). Epochs = budget / unique "
        f"tokens; (!) marks plans beyond {EPOCHS_WORTH_IT:g} epochs, where repeated data stops paying "
        f"(Muennighoff et al. 2023; predicted loss uses their effective data with R* = {REPETITION_HALF_LIFE}). "
        f"Loss: {a.fit} fit ({fit.source}). FLOPs = 6·N·D; cost on {a.gpu.upper()} {a.precision.upper()} at "
        f"{a.mfu:.0%} MFU and ${a.price_per_gpu_hour:g} per GPU-hour.",
    ]
    if budget.sources:
        weights = budget.sampling_weights()
        lines += [
            "",
            "| source | tokens | target | surplus / deficit | epochs for target | sampling weight |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for s in budget.sources:
            target = si(s.target) if s.target is not None else "-"
            surplus = si(s.surplus) if s.surplus is not None else "-"
            epochs = f"{s.epochs:,.2f}" if s.epochs is not None else "-"
            weight = f"{weights[s.source]:.1%}" if s.source in weights else "-"
            lines.append(f"| {s.source} | {si(s.tokens)} | {target} | {surplus} | {epochs} | {weight} |")
    if plot_name:
        lines += ["", f"![corpus against the compute-optimal frontier]({plot_name})"]
    return "\n".join(lines)


def table(budget: CorpusBudget) -> str:
    """A plain-text table for the terminal."""
    rows = [TARGET_HEADER] + target_rows(budget)
    widths = [max(len(row[i]) for row in rows) for i in range(len(TARGET_HEADER))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def plot(budget: CorpusBudget, path: Path) -> Path:
    """Tokens against parameters: both compute-optimal frontiers, the corpus, and the target models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    a = budget.assumptions
    fit = FITS[a.fit]
    sizes = list(a.targets) + [budget.optimal_parameters_rule, budget.optimal_parameters_loss]
    low, high = max(min(sizes) / 10, 1e6), max(sizes) * 10
    n = np.logspace(np.log10(low), np.log10(high), 200)
    figure, axes = plt.subplots(figsize=(7.5, 5), dpi=110)
    axes.loglog(n, a.tokens_per_parameter * n, label=f"{a.tokens_per_parameter:g} tokens / parameter", color="tab:blue")
    loss_optimal = np.array([optimal_by_loss(6 * a.tokens_per_parameter * x * x, fit) for x in n])
    axes.loglog(loss_optimal[:, 0], loss_optimal[:, 1], "--", label=f"loss-optimal ({a.fit} fit)", color="tab:purple")
    if budget.tokens:
        axes.axhline(budget.tokens, color="tab:green", label=f"this corpus: {si(budget.tokens)} tokens")
        axes.axhline(
            budget.tokens * EPOCHS_WORTH_IT, color="tab:green", linestyle=":", label=f"{EPOCHS_WORTH_IT:g} epochs of it"
        )
    for target in budget.targets:
        colour = "tab:green" if target.coverage >= 1 else ("tab:orange" if not target.too_many_epochs else "tab:red")
        axes.scatter([target.parameters], [target.budget_tokens], color=colour, zorder=3)
        axes.annotate(
            f"{si(target.parameters)}: {percent(target.coverage)}",
            (target.parameters, target.budget_tokens),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize=8,
        )
    axes.set_xlim(low, high)
    axes.set_xlabel("model parameters")
    axes.set_ylabel("training tokens")
    axes.set_title("Corpus against the compute-optimal frontier (labels: coverage of budget)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
