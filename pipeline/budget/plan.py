"""What a corpus is worth: per target model size, its compute-optimal token budget, how much of it
the corpus covers, the epochs needed, the predicted loss, and the training compute and cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pipeline.budget.cost import GPUS, gpu_hours, peak_flops, training_cost, training_flops
from pipeline.budget.repetition import EPOCHS_WORTH_IT, effective_tokens
from pipeline.budget.scaling import FITS, parameters_for_tokens_by_loss


@dataclass(frozen=True)
class BudgetAssumptions:
    targets: tuple[float, ...] = (125e6, 350e6, 1.3e9, 7e9)
    fit: str = "chinchilla"
    tokens_per_parameter: float = 20.0
    gpu: str = "h100"
    precision: str = "bf16"
    mfu: float = 0.45
    price_per_gpu_hour: float = 2.0
    gpus: dict[str, dict[str, float]] = field(default_factory=lambda: dict(GPUS))


@dataclass
class TargetBudget:
    parameters: float
    budget_tokens: float  # tokens_per_parameter x parameters
    coverage: float  # unique tokens / budget
    epochs: float  # passes over the corpus to reach the budget
    effective_tokens: float  # fresh-data equivalent of those passes
    predicted_loss: float  # at the effective tokens
    flops: float
    gpu_hours: float
    cost: float
    too_many_epochs: bool


@dataclass
class SourceBudget:
    source: str
    tokens: float
    target: float | None = None

    @property
    def surplus(self) -> float | None:
        return None if self.target is None else self.tokens - self.target

    @property
    def epochs(self) -> float | None:
        return None if self.target is None or not self.tokens else self.target / self.tokens


@dataclass
class CorpusBudget:
    tokens: float
    bytes_per_token: float | None  # set when tokens were estimated from bytes, not counted
    assumptions: BudgetAssumptions
    targets: list[TargetBudget]
    sources: list[SourceBudget]
    optimal_parameters_rule: float  # the model this corpus feeds at tokens_per_parameter
    optimal_parameters_loss: float  # the model whose loss-optimal allocation is this corpus

    def sampling_weights(self) -> dict[str, float]:
        """Share of each source in a training mix that meets every source's target."""
        total = sum(s.target for s in self.sources if s.target)
        return {s.source: s.target / total for s in self.sources if s.target} if total else {}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sources"] = [asdict(s) | {"surplus": s.surplus, "epochs": s.epochs} for s in self.sources]
        data["sampling_weights"] = self.sampling_weights()
        return data


def plan_budget(
    tokens_by_source: dict[str, float],
    assumptions: BudgetAssumptions = BudgetAssumptions(),
    bytes_per_token: float | None = None,
    mixture: dict[str, float] | None = None,
) -> CorpusBudget:
    if assumptions.fit not in FITS:
        raise ValueError(f"unknown fit {assumptions.fit!r}; known: {', '.join(FITS)}")
    fit = FITS[assumptions.fit]
    peak = peak_flops(assumptions.gpu, assumptions.precision, assumptions.gpus)
    unique = float(sum(tokens_by_source.values()))
    targets = []
    for parameters in assumptions.targets:
        budget = assumptions.tokens_per_parameter * parameters
        epochs = budget / unique if unique else float("inf")
        effective = effective_tokens(unique, epochs) if unique else 0.0
        flops = training_flops(parameters, budget)
        targets.append(
            TargetBudget(
                parameters=parameters,
                budget_tokens=budget,
                coverage=unique / budget,
                epochs=epochs,
                effective_tokens=effective,
                predicted_loss=fit.loss(parameters, effective) if effective else float("inf"),
                flops=flops,
                gpu_hours=gpu_hours(flops, peak, assumptions.mfu),
                cost=training_cost(flops, peak, assumptions.mfu, assumptions.price_per_gpu_hour),
                too_many_epochs=epochs > EPOCHS_WORTH_IT,
            )
        )
    mixture = mixture or {}
    unknown = sorted(set(mixture) - set(tokens_by_source))
    sources = [SourceBudget(name, tokens, mixture.get(name)) for name, tokens in sorted(tokens_by_source.items())]
    sources += [SourceBudget(name, 0.0, mixture[name]) for name in unknown]
    return CorpusBudget(
        tokens=unique,
        bytes_per_token=bytes_per_token,
        assumptions=assumptions,
        targets=targets,
        sources=sources,
        optimal_parameters_rule=unique / assumptions.tokens_per_parameter,
        optimal_parameters_loss=parameters_for_tokens_by_loss(unique, fit) if unique else 0.0,
    )
