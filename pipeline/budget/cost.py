"""Training compute and what it costs on a given GPU.

Peak dense throughput per GPU (vendor datasheets, no sparsity): A100 SXM 312 TFLOP/s BF16;
H100 SXM 989 TFLOP/s BF16 and 1,979 FP8; H200 the same as H100 (same compute die); B200
2,250 TFLOP/s BF16 and 4,500 FP8. Achieved throughput is peak x model FLOPs utilisation (MFU);
well-run LLM training reaches about 40-60 %.
"""

from __future__ import annotations

from pipeline.budget.scaling import FLOPS_PER_PARAMETER_TOKEN

GPUS: dict[str, dict[str, float]] = {
    "a100": {"bf16": 312e12},
    "h100": {"bf16": 989e12, "fp8": 1979e12},
    "h200": {"bf16": 989e12, "fp8": 1979e12},
    "b200": {"bf16": 2250e12, "fp8": 4500e12},
}


def training_flops(parameters: float, tokens: float) -> float:
    return FLOPS_PER_PARAMETER_TOKEN * parameters * tokens


def peak_flops(gpu: str, precision: str, gpus: dict[str, dict[str, float]] | None = None) -> float:
    table = gpus or GPUS
    if gpu not in table:
        raise ValueError(
            f"unknown GPU {gpu!r}; known: {', '.join(sorted(table))} "
            "(add it under budget.gpus in the config, or pass --peak-tflops)"
        )
    if precision not in table[gpu]:
        raise ValueError(f"{gpu} has no {precision} figure; it has: {', '.join(sorted(table[gpu]))}")
    return table[gpu][precision]


def gpu_hours(flops: float, peak: float, mfu: float) -> float:
    if not 0 < mfu <= 1:
        raise ValueError(f"MFU must be in (0, 1], got {mfu}")
    return flops / (peak * mfu) / 3600


def training_cost(flops: float, peak: float, mfu: float, price_per_gpu_hour: float) -> float:
    return gpu_hours(flops, peak, mfu) * price_per_gpu_hour
