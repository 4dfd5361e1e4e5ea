from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]

VALID = {
    "input": {"format": "jsonl", "paths": ["in/*.jsonl"]},
    "stages": [{"stage": "normalize"}],
    "output": {"folder": "out/x"},
}


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="run.yaml")
    return str(info.value)


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    load_config(path)


def test_misspelt_stage_option_names_its_key_path():
    raw = {**VALID, "stages": [{"stage": "normalize", "fix_mojibak": True}]}
    message = _error(raw)
    assert message.startswith("run.yaml:")
    assert "stages.0.fix_mojibak: unknown key" in message


def test_misspelt_top_level_key():
    assert "ouptut: unknown key" in _error({**VALID, "ouptut": {"folder": "x"}})


def test_wrong_type_names_key_and_value():
    message = _error({**VALID, "executor": {"tasks": "many"}})
    assert "executor.tasks:" in message and "'many'" in message


def test_missing_value():
    raw = {k: v for k, v in VALID.items() if k != "output"}
    assert "output: required value is missing" in _error(raw)


def test_unknown_stage_lists_known_ones():
    message = _error({**VALID, "stages": [{"stage": "normalise"}]})
    assert "stages.0:" in message and "'normalise'" in message and "normalize" in message


def test_bad_choice_lists_allowed_values():
    message = _error({**VALID, "input": {"format": "csv", "paths": ["x"]}})
    assert "input.format:" in message and "'jsonl'" in message


def test_input_needs_paths_or_sample():
    assert "input:" in _error({**VALID, "input": {"format": "jsonl"}})


def test_not_a_mapping(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_overrides_by_key_path(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(VALID))
    config = load_config(path, overrides={"executor.tasks": 8, "output.folder": "elsewhere"})
    assert config.executor.tasks == 8 and config.output.folder == "elsewhere"


def test_overrides_index_the_stages_list_and_a_bad_path_says_how(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(VALID))
    config = load_config(path, overrides={"stages.0.min_chars": 5})
    assert config.stages[0].min_chars == 5
    with pytest.raises(ConfigError, match=r"stages is a list of 1; index it with a number from 0 to 0"):
        load_config(path, overrides={"stages.normalize.min_chars": 5})
    with pytest.raises(ConfigError, match=r"output.folder is a value, not a section"):
        load_config(path, overrides={"output.folder.x": 5})


def test_fingerprint_ignores_workers_but_not_stages():
    base = parse_config(VALID)
    more_workers = parse_config({**VALID, "executor": {"workers": 7}})
    other_stage = parse_config({**VALID, "stages": [{"stage": "normalize", "min_chars": 5}]})
    assert base.fingerprint() == more_workers.fingerprint()
    assert base.fingerprint() != other_stage.fingerprint()


def test_cli_rejects_bad_config_before_any_work(tmp_path):
    from pipeline.cli import main

    path = tmp_path / "run.yaml"
    out = tmp_path / "out"
    path.write_text(yaml.safe_dump({**VALID, "output": {"folder": str(out)}, "executor": {"taks": 2}}))
    assert main(["run", str(path)]) == 2
    assert not out.exists()


def test_readme_config_reference_is_valid():
    """The annotated example in docs/config.md validates, so the reference cannot drift from the schema."""
    reference = (ROOT / "docs" / "config.md").read_text()
    block = reference.split("```yaml", 1)[1].split("```", 1)[0]
    raw = yaml.safe_load(block)
    del raw["input"]["paths"]  # the example shows both ways to give input; a config uses one
    tokenize = next(s for s in raw["stages"] if s["stage"] == "tokenize")
    del tokenize["train"]  # and both ways to get a tokenizer
    config = parse_config(raw, source="docs/config.md")
    assert config.budget.gpus["mi300x"]["bf16"] == 1307e12 and config.budget.mixture["books"] == 500e6


def test_executor_kind_is_local_unless_said_and_unknown_kinds_are_named():
    base = {"input": {"format": "jsonl", "paths": ["x.jsonl"]}, "output": {"folder": "out"}}
    assert parse_config({**base, "executor": {"tasks": 3}}).executor.kind == "local"
    assert parse_config({**base, "executor": {"kind": "ray", "address": "auto"}}).executor.address == "auto"
    with pytest.raises(ConfigError, match="unknown executor kind 'pbs'; known: local, ray, slurm"):
        parse_config({**base, "executor": {"kind": "pbs"}})
    with pytest.raises(ConfigError, match="executor.partition: required value is missing"):
        parse_config({**base, "executor": {"kind": "slurm"}})


def test_every_executor_example_in_the_cluster_docs_is_valid():
    """docs/clusters.md's executor sections validate, so its options cannot drift from the schema."""
    blocks = (ROOT / "docs" / "clusters.md").read_text().split("```yaml")[1:]
    executors = [yaml.safe_load(block.split("```", 1)[0])["executor"] for block in blocks]
    assert {executor["kind"] for executor in executors} == {"ray", "slurm"}
    for executor in executors:
        parse_config({**VALID, "executor": executor}, source="docs/clusters.md")


def test_the_readme_config_example_is_valid():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## A config", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    config = parse_config(yaml.safe_load(block), source="README.md")
    assert [stage.stage for stage in config.stages][-1] == "mds"


@pytest.mark.parametrize("command", [["--help"], ["run", "--help"], ["budget", "--help"]])
def test_help_answers_without_importing_the_engine(command):
    """`--help` must answer at once: datatrove, the stages and their libraries load only for real work
    (its speed is measured in `make bench`: cli_start)."""
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline.cli", *command], cwd=ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 0 and "usage: corpus-prep" in completed.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines() if "|" in line}
    assert not imported & {"datatrove", "stages", "pipeline.config", "pydantic", "numpy"}
