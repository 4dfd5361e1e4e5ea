"""The budget section of a run report, from the token counter's stats and the config's assumptions."""

from __future__ import annotations

from pathlib import Path

from pipeline.accounting import metric_total
from pipeline.budget.cost import GPUS
from pipeline.budget.plan import BudgetAssumptions, plan_budget
from pipeline.budget.render import markdown, plot
from pipeline.config import BudgetSettings

PLOT_NAME = "budget.png"


def assumptions_from(settings: BudgetSettings) -> BudgetAssumptions:
    gpus = {name: dict(peaks) for name, peaks in GPUS.items()}
    for name, peaks in settings.gpus.items():
        gpus.setdefault(name.lower(), {}).update(peaks)
    return BudgetAssumptions(
        targets=tuple(settings.targets),
        fit=settings.fit,
        tokens_per_parameter=settings.tokens_per_parameter,
        gpu=settings.gpu.lower(),
        precision=settings.precision,
        mfu=settings.mfu,
        price_per_gpu_hour=settings.price_per_gpu_hour,
        gpus=gpus,
    )


def budget_section(settings: BudgetSettings, counter_stats: dict, folder: Path) -> tuple[str, str, dict]:
    """(report key, Markdown, data) for the report; also writes the plot into `folder`."""
    stats = counter_stats.get("stats", {})
    tokens_by_source = {
        key.split("/", 1)[1]: float(metric_total(value)) for key, value in stats.items() if key.startswith("tokens/")
    }
    estimated = bool(stats.get("estimated_documents"))
    budget = plan_budget(
        tokens_by_source,
        assumptions_from(settings),
        bytes_per_token=settings.bytes_per_token if estimated else None,
        mixture=dict(settings.mixture),
    )
    plot(budget, folder / PLOT_NAME)
    return "budget", markdown(budget, PLOT_NAME), budget.to_dict()
