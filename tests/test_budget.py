"""The budget maths against figures published in the literature and the compute-cost tables."""

import json
import math

import pytest

from pipeline.budget import FITS, effective_tokens, optimal_by_loss, optimal_by_rule, training_flops
from pipeline.budget.cost import GPUS, gpu_hours, training_cost
from pipeline.budget.plan import BudgetAssumptions, plan_budget
from pipeline.budget.scaling import parameters_for_tokens_by_loss
from pipeline.cli import main

A100 = GPUS["a100"]["bf16"]


def test_training_flops_for_a_30b_model():
    assert training_flops(30e9, 610e9) == pytest.approx(1.098e23, rel=1e-3)


@pytest.mark.parametrize(
    ("parameters", "tokens", "dollars"),
    [(30e9, 610e9, 326e3), (70e9, 1.4e12, 1.75e6)],  # the MosaicML / SemiAnalysis compute-optimal cost table
)
def test_cost_on_a100_at_45_percent_mfu(parameters, tokens, dollars):
    cost = training_cost(training_flops(parameters, tokens), A100, 0.45, 1.50)
    assert cost == pytest.approx(dollars, rel=0.01)


def test_gpu_hours_scale_inversely_with_mfu():
    assert gpu_hours(1e21, A100, 0.25) == pytest.approx(2 * gpu_hours(1e21, A100, 0.5))
    with pytest.raises(ValueError):
        gpu_hours(1e21, A100, 0)


@pytest.mark.parametrize(("n", "d", "loss"), [(175e9, 300e9, 2.002), (70e9, 1.4e12, 1.937)])
def test_chinchilla_eq10_loss(n, d, loss):
    assert FITS["chinchilla"].loss(n, d) == pytest.approx(loss, abs=0.001)


def test_twenty_tokens_rule_at_gopher_compute():
    parameters, tokens = optimal_by_rule(5.76e23)
    assert parameters == pytest.approx(69e9, rel=0.01)
    assert tokens == pytest.approx(20 * parameters)
    assert training_flops(parameters, tokens) == pytest.approx(5.76e23)


@pytest.mark.parametrize("fit", sorted(FITS))
def test_loss_optimum_beats_its_neighbours_and_inverts(fit):
    flops = 1e22
    parameters, tokens = optimal_by_loss(flops, FITS[fit])
    assert training_flops(parameters, tokens) == pytest.approx(flops)
    best = FITS[fit].loss(parameters, tokens)
    for factor in (0.8, 1.25):
        other = parameters * factor
        assert FITS[fit].loss(other, flops / (6 * other)) > best
    assert parameters_for_tokens_by_loss(tokens, FITS[fit]) == pytest.approx(parameters, rel=1e-9)


def test_repeated_data_has_diminishing_returns():
    unique = 1e9
    assert effective_tokens(unique, 1) == unique
    assert effective_tokens(unique, 0.5) == pytest.approx(0.5e9)
    four = effective_tokens(unique, 4)
    assert 3.5e9 < four < 4e9  # up to ~4 epochs repetition is nearly as good as new data
    assert effective_tokens(unique, 1000) <= unique * (1 + 15.4) * (1 + 1e-12)  # bounded by U·(1 + R*)
    assert effective_tokens(unique, 100) < effective_tokens(unique, 40) * 1.5
    assert effective_tokens(unique, 2) == pytest.approx(unique + unique * 15.4 * (1 - math.exp(-1 / 15.4)))


def test_plan_for_a_small_corpus():
    budget = plan_budget(
        {"web": 2e9, "books": 0.6e9}, BudgetAssumptions(targets=(125e6, 1.3e9)), mixture={"web": 1e9, "books": 1e9}
    )
    small, large = budget.targets
    assert small.budget_tokens == 2.5e9 and small.coverage == pytest.approx(2.6 / 2.5)
    assert not small.too_many_epochs and large.too_many_epochs  # 26B / 2.6B = 10 epochs
    assert large.epochs == pytest.approx(10)
    assert large.predicted_loss > FITS["chinchilla"].loss(1.3e9, 26e9)  # repetition is worth less than new data
    assert budget.optimal_parameters_rule == pytest.approx(130e6)
    books = next(s for s in budget.sources if s.source == "books")
    assert books.surplus == pytest.approx(-0.4e9) and books.epochs == pytest.approx(1 / 0.6)
    assert budget.sampling_weights() == {"books": 0.5, "web": 0.5}


def test_unknown_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown GPU 'tpu'.*known: a100"):
        plan_budget({"all": 1e9}, BudgetAssumptions(gpu="tpu"))


def test_cli_from_numbers(capsys):
    assert main(["budget", "--tokens", "1.4T", "--params", "70B", "--gpu", "a100", "--price", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "70B" in out and "$1.75M" in out and "1,163,343" in out


def test_cli_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["budget", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--tokens", "--params", "--fit", "--tokens-per-param", "--gpu", "--precision", "--mfu", "--price"):
        assert option in help_text


def test_default_run_report_has_budget_section_and_plot(finished_budget_run, capsys):
    out = finished_budget_run
    report = json.loads((out / "report.json").read_text())
    assert report["budget"]["tokens"] > 0 and report["budget"]["bytes_per_token"] == 4.0
    assert [t["parameters"] for t in report["budget"]["targets"]] == [125e6, 1.3e9]
    assert "## Token budget" in (out / "report.md").read_text()
    assert (out / "budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["budget", str(out)]) == 0
    assert "compute-optimal model" in capsys.readouterr().out


@pytest.fixture
def finished_budget_run(small_sample, tmp_path):
    from pipeline.config import parse_config
    from pipeline.runner import run

    config = parse_config(
        {
            "input": {"format": "warc", "paths": [str(small_sample / "*.warc.gz")]},
            "stages": [{"stage": "normalize"}],
            "output": {"folder": str(tmp_path / "out")},
            "executor": {"tasks": 2, "workers": 1},
            "budget": {"targets": ["125M", "1.3e9"]},
        }
    )
    run(config, show_progress=False)
    return tmp_path / "out"
