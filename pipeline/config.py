"""The run configuration: one YAML file describes a whole run, validated before any work starts.

An unknown key, a wrong type or a missing value raises `ConfigError`, whose message names the file,
the key path (`stages.1.min_chars`) and what is allowed there.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from stages import STAGE_OPTIONS


class ConfigError(ValueError):
    """A config file that cannot run; the message says where and what to change."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleSettings(_Strict):
    """Generate the project's synthetic sample crawl into `folder` when it is not there yet."""

    folder: str = "data/sample"
    pages: int = Field(2000, ge=1)
    seed: int = 0
    files: int = Field(8, ge=1, description="number of WARC files (datatrove gives each task whole files)")


class InputSettings(_Strict):
    format: Literal["jsonl", "parquet", "warc", "html"]
    paths: list[str] = Field(default_factory=list, description="files or globs, relative to the working directory")
    text_key: str = "text"
    id_key: str = "id"
    metadata_keys: list[str] | None = Field(None, description="keys kept as metadata; all others when unset")
    share_files: bool = Field(
        True, description="with fewer files than tasks, tasks share a file (every n-th record each) instead of idling"
    )
    max_record_bytes: int = Field(
        64_000_000, gt=0, description="a longer record (WARC or HTML body, JSONL line) is quarantined unread"
    )
    allow_empty: bool = Field(False, description="let a run that reads no document succeed")
    sample: SampleSettings | None = None

    @model_validator(mode="after")
    def _paths_or_sample(self) -> InputSettings:
        if not self.paths and self.sample is None:
            raise ValueError("give `paths` (files or globs) or a `sample` block to generate the sample corpus")
        if self.sample is not None and self.format != "warc":
            raise ValueError("the generated sample corpus is WARC: use `format: warc` with `sample`")
        return self

    def resolved_paths(self) -> list[str]:
        if self.paths:
            return list(self.paths)
        return [str(Path(self.sample.folder) / "*.warc.gz")]


class OutputSettings(_Strict):
    folder: str
    format: Literal["jsonl", "parquet"] = "parquet"


_SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse_quantity(value: Any) -> Any:
    """Accept 1.3e9, "1.3e9" (YAML reads 125e6 as a string) and "1.3B" / "125M" / "2T"."""
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if text[-1:].upper() in _SUFFIXES:
            return float(text[:-1]) * _SUFFIXES[text[-1].upper()]
        return float(text)
    return value


Quantity = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0)]


class BudgetSettings(_Strict):
    """Token budget: count tokens after the last stage and plan model sizes, epochs, loss and cost."""

    targets: list[Quantity] = Field(default_factory=lambda: [125e6, 350e6, 1.3e9, 7e9], description="model sizes")
    fit: Literal["chinchilla", "epoch-ai"] = "chinchilla"
    tokens_per_parameter: float = Field(20.0, gt=0)
    gpu: str = "h100"
    precision: Literal["bf16", "fp8"] = "bf16"
    mfu: float = Field(0.45, gt=0, le=1, description="model FLOPs utilisation")
    price_per_gpu_hour: float = Field(2.0, ge=0)
    gpus: dict[str, dict[str, Quantity]] = Field(default_factory=dict, description="extra or overridden GPU peaks")
    bytes_per_token: float = Field(4.0, gt=0, description="estimate used when no tokenizer ran")
    source_key: str = "source"
    mixture: dict[str, Quantity] = Field(default_factory=dict, description="per-source token targets")


class LocalExecutorSettings(_Strict):
    kind: Literal["local"] = "local"
    tasks: int = Field(4, ge=1, description="shards of the input; each task reads whole files")
    workers: int = Field(2, ge=1, description="tasks run at the same time")


class RayExecutorSettings(_Strict):
    """datatrove's RayPipelineExecutor: every pass's tasks become Ray tasks on a cluster."""

    kind: Literal["ray"]
    tasks: int = Field(4, ge=1, description="shards of the input; each task reads whole files")
    workers: int = Field(2, ge=1, description="tasks run at the same time")
    address: str | None = Field(
        None, description="an existing cluster (auto, or ray://host:10001); null: start a local one for the run"
    )
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(1.0, gt=0, description="checked against the cluster: Ray would wait forever")
    time_limit_s: int = Field(
        86_400, ge=1, description="a task running longer than this fails its pass (the run exits naming it)"
    )
    heartbeat_timeout_s: int = Field(
        120, ge=2, description="a task whose worker sent no heartbeat for this long (it died or froze) fails its pass"
    )


class SlurmExecutorSettings(_Strict):
    """datatrove's SlurmPipelineExecutor: each pass a job array, chained by afterok, then a finishing job."""

    kind: Literal["slurm"]
    tasks: int = Field(4, ge=1, description="shards of the input; each is one array task")
    workers: int = Field(64, ge=1, description="array tasks running at the same time (the %N of --array)")
    partition: str = Field(description="the Slurm partition")
    time: str = Field("24:00:00", description="time limit of each array task")
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2.0, gt=0, description="written to #SBATCH in whole megabytes")
    qos: str | None = None
    env_command: str | None = Field(
        None,
        description="shell line that activates the environment on the nodes; null: the venv that submits, by "
        "absolute path",
    )
    sbatch_args: dict[str, str] = Field(
        default_factory=dict, description="more #SBATCH directives for every job, e.g. {account: my-project}"
    )
    max_array_size: int = Field(
        1001, ge=1, description="the cluster's MaxArraySize: above it an array element runs several tasks"
    )


ExecutorSettings = Annotated[
    Union[LocalExecutorSettings, RayExecutorSettings, SlurmExecutorSettings],  # noqa: UP007
    Field(discriminator="kind"),
]


StageSettings = Annotated[Union[tuple(STAGE_OPTIONS)], Field(discriminator="stage")]  # noqa: UP007


class RunConfig(_Strict):
    name: str = "corpus-prep run"
    input: InputSettings
    stages: list[StageSettings] = Field(default_factory=list)
    output: OutputSettings
    executor: ExecutorSettings = LocalExecutorSettings()
    budget: BudgetSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _local_unless_said(cls, raw: Any) -> Any:
        """`executor:` without `kind:` means the local executor."""
        if isinstance(raw, dict) and isinstance(raw.get("executor"), dict) and "kind" not in raw["executor"]:
            raw = {**raw, "executor": {**raw["executor"], "kind": "local"}}
        return raw

    def fingerprint(self) -> str:
        """Hash of everything that decides the output; a resumed run must have the same one."""
        decisive = self.model_dump(mode="json", exclude={"name"})
        # Only the task count decides the output: the same run may resume with more workers, on Ray.
        decisive["executor"] = {"tasks": self.executor.tasks}
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `input`, `stages`, `output` at the top level")
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value, path)
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(explain_validation_error(error, source)) from None


def _set_dotted(raw: dict, dotted: str, value: Any, source: Path) -> None:
    """Set `a.b.c` in the raw config; a number indexes a list (`stages.0.extractor`: the first stage)."""
    node: Any = raw
    keys = dotted.split(".")
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(
                    f"{source}: --set {dotted}: {where} is a list of {len(node)}; "
                    f"index it with a number from 0 to {len(node) - 1}"
                )
            key = int(key)
        elif not isinstance(node, dict):
            raise ConfigError(f"{source}: --set {dotted}: {where} is a value, not a section")
        if depth == len(keys) - 1:
            node[key] = value
        elif isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            node = node[key]


def explain_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: {error.error_count()} problem(s):"]
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"])
        # Pydantic names the union member in the path (stages.0.normalize.x); the stage is known already.
        location = _drop_union_tag(location)
        lines.append(f"  {location}: {_message(problem)}")
    return "\n".join(lines)


def _drop_union_tag(location: str) -> str:
    parts = location.split(".")
    if len(parts) >= 3 and parts[0] == "stages" and parts[2] in _STAGE_NAMES:
        del parts[2]
    if len(parts) >= 2 and parts[0] == "executor" and parts[1] in ("local", "ray", "slurm"):
        del parts[1]
    return ".".join(parts)


_STAGE_NAMES = {options.model_fields["stage"].default for options in STAGE_OPTIONS}


def _message(problem: dict) -> str:
    kind = problem["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the config reference in docs/config.md)"
    if kind == "missing":
        return "required value is missing"
    if kind == "union_tag_invalid" and "kind" in problem.get("ctx", {}).get("discriminator", ""):
        return f"unknown executor kind {problem['input'].get('kind')!r}; known: local, ray, slurm"
    if kind == "union_tag_invalid":
        return f"unknown stage {problem['input'].get('stage')!r}; known stages: {', '.join(sorted(_STAGE_NAMES))}"
    if kind == "union_tag_not_found":
        return f"each stage needs a `stage:` key naming one of: {', '.join(sorted(_STAGE_NAMES))}"
    got = problem.get("input")
    text = problem["msg"]
    if got is not None and not isinstance(got, dict | list):
        text += f" (got {got!r})"
    return text
