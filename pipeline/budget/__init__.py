"""Token budgets: scaling-law maths (`scaling`), training cost (`cost`), repeated data (`repetition`),
and the corpus plan that puts them together for a report or the `corpus-prep budget` command."""

from pipeline.budget.cost import GPUS, gpu_hours, training_cost, training_flops
from pipeline.budget.plan import BudgetAssumptions, CorpusBudget, plan_budget
from pipeline.budget.repetition import effective_tokens
from pipeline.budget.scaling import FITS, LossFit, optimal_by_loss, optimal_by_rule

__all__ = [
    "FITS",
    "GPUS",
    "BudgetAssumptions",
    "CorpusBudget",
    "LossFit",
    "effective_tokens",
    "gpu_hours",
    "optimal_by_loss",
    "optimal_by_rule",
    "plan_budget",
    "training_cost",
    "training_flops",
]
