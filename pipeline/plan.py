"""Turning a config into passes: each a datatrove pipeline run by one executor over all its tasks.

Stages contribute steps; a stage that needs to see all documents first contributes a `Pass` between
its steps. The runner cuts the step list at those points: a document pass reads the input (or the
documents the previous document pass wrote), runs its steps and writes documents; an aggregation
pass runs the stage's own steps in between.
"""

from __future__ import annotations

import glob
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from pipeline.config import ConfigError, InputSettings, RunConfig
from pipeline.io.readers import (
    AccountedJsonlReader,
    AccountedParquetReader,
    AccountedReader,
    HtmlFolderReader,
    WarcReader,
)
from pipeline.layout import RunLayout
from pipeline.progress import ProgressBeacon
from stages.base import CorpusStep, Pass, StageContext
from stages.token_count import TokenCounter
from stages.tokenize import TOKEN_IDS_KEY

BUDGET_COUNTER_LABEL = "budget.count"
READERS = {
    "warc": WarcReader,
    "html": HtmlFolderReader,
    "jsonl": AccountedJsonlReader,
    "parquet": AccountedParquetReader,
}


@dataclass
class PassPlan:
    name: str
    steps: list[PipelineStep]
    tasks: int
    logging_dir: str
    labels: list[str] = field(default_factory=list)  # one per step, for the report
    documents: bool = True  # a document pass (reads documents, writes them on); else an aggregation pass

    def incomplete_tasks(self) -> list[int]:
        """Tasks without datatrove's completion marker."""
        completions = os.path.join(self.logging_dir, "completions")
        return [rank for rank in range(self.tasks) if not os.path.exists(os.path.join(completions, f"{rank:05d}"))]

    def task_log(self, rank: int) -> Path:
        """datatrove's log of one task (written on the executor's side; on Ray when the task ends)."""
        return Path(self.logging_dir) / "logs" / f"task_{rank:05d}.log"


def final_documents_pass(passes: list[PassPlan]) -> PassPlan:
    """The document pass that writes the run's kept documents (aggregation passes may follow it)."""
    return [plan for plan in passes if plan.documents][-1]


def resolve_input_files(settings: InputSettings) -> tuple[str, list[str]]:
    """The common folder of all input files and their sorted paths relative to it."""
    patterns = settings.resolved_paths()
    if any("://" in pattern for pattern in patterns):
        return _resolve_remote_files(patterns)
    matched: list[str] = []
    for pattern in patterns:
        hits = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        if not hits:
            raise ConfigError(f"input.paths: no file matches {pattern!r} (relative to {os.getcwd()})")
        matched.extend(os.path.abspath(p) for p in hits)
    files = sorted(dict.fromkeys(matched))
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    return root, [os.path.relpath(f, root) for f in files]


def _resolve_remote_files(patterns: list[str]) -> tuple[str, list[str]]:
    """Input on object storage (s3://, gs://, any fsspec URL): globbed by fsspec, read through datatrove's
    DataFolder. All patterns must share one filesystem; credentials come from its usual environment."""
    import fsspec

    filesystems = {fsspec.core.url_to_fs(pattern)[0].protocol for pattern in patterns}
    if len(filesystems) != 1 or any("://" not in pattern for pattern in patterns):
        raise ConfigError("input.paths: mix local paths and URLs, or URLs of several filesystems, in separate runs")
    matched: list[str] = []
    for pattern in patterns:
        filesystem, path = fsspec.core.url_to_fs(pattern)
        hits = sorted(p for p in filesystem.glob(path) if filesystem.isfile(p))
        if not hits:
            raise ConfigError(f"input.paths: no object matches {pattern!r}")
        matched.extend(hits)
    files = sorted(dict.fromkeys(matched))
    root = posixpath.commonpath([posixpath.dirname(f) for f in files])
    scheme = patterns[0].split("://", 1)[0]
    return f"{scheme}://{root}", [posixpath.relpath(f, root) for f in files]


def input_bytes(root: str, files: list[str]) -> int:
    """Total size of the input files, for stages that size their passes by the corpus."""
    if "://" in root:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(root)
        return sum(filesystem.size(posixpath.join(path, f)) or 0 for f in files)
    return sum(os.path.getsize(os.path.join(root, f)) for f in files)


def _input_reader(settings: InputSettings, root: str, files: list[str]) -> AccountedReader:
    kwargs = {"text_key": settings.text_key, "id_key": settings.id_key}
    if settings.format == "jsonl":
        kwargs["compression"] = "infer"
    return READERS[settings.format](
        root,
        files,
        metadata_keys=settings.metadata_keys,
        share_files=settings.share_files,
        max_record_bytes=settings.max_record_bytes,
        **kwargs,
    )


def _without_token_ids(writer, document) -> dict:
    """The kept documents carry their token count; their token ids live in the MDS dataset."""
    data = writer._default_adapter(document)
    if TOKEN_IDS_KEY in data.get("metadata", {}):
        data["metadata"] = {k: v for k, v in data["metadata"].items() if k != TOKEN_IDS_KEY}
    return data


def _documents_writer(folder: str, output_format: str, final: bool) -> PipelineStep:
    # zstd rather than gzip: gzip stamps the time into each file, and reruns must give the same bytes.
    # Between passes the token ids travel with the documents; the kept documents leave them out.
    adapter = _without_token_ids if final else None
    if output_format == "parquet":
        return ParquetWriter(folder, output_filename="${rank}.parquet", compression="zstd", adapter=adapter)
    return JsonlWriter(folder, output_filename="${rank}.jsonl", compression="zstd", adapter=adapter)


class _ListsFilesWhenRun:
    """Lists the previous pass's files when the task starts: they do not exist when the plan is made.
    Their ids were made unique when the run read its input."""

    renames_repeated_ids = False

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        self.files = sorted(self.data_folder.list_files())
        yield from super().run(data, rank, world_size)


class _LazyJsonlReader(_ListsFilesWhenRun, AccountedJsonlReader):
    pass


class _LazyParquetReader(_ListsFilesWhenRun, AccountedParquetReader):
    pass


def _documents_reader(folder: str, output_format: str) -> AccountedReader:
    if output_format == "parquet":
        return _LazyParquetReader(folder, [])
    return _LazyJsonlReader(folder, [], compression="infer")


def build_plan(config: RunConfig, layout: RunLayout) -> list[PassPlan]:
    """Cut the stages' steps into passes.

    `segments[i]` holds the steps of document pass i; `aggregations[i]` the `Pass`es that run after it,
    before document pass i+1. The last document pass writes the kept documents to `data/`; passes a
    stage puts after its last step (building a training dataset, say) run after it.
    """
    tasks = config.executor.tasks
    input_root, input_files = resolve_input_files(config.input)
    size = input_bytes(input_root, input_files)
    segments: list[list[tuple[str, PipelineStep]]] = [[]]
    aggregations: list[list[Pass]] = [[]]
    artifacts: dict = {}
    for index, stage in enumerate(config.stages, start=1):
        context = StageContext(
            work_folder=str(layout.stage_work(index, stage.stage)),
            output_folder=str(layout.root),
            tasks=tasks,
            artifacts=artifacts,
            personal_data_scrubbed=any(earlier.scrubs_names() for earlier in config.stages[: index - 1]),
            input_bytes=size,
        )
        try:
            items = stage.build(context)
        except ValueError as error:  # a stage found its options unusable (a missing file, an unknown token)
            raise ConfigError(f"stages.{index - 1} ({stage.stage}): {error}") from error
        for item in items:
            if isinstance(item, Pass):
                aggregations[-1].append(item)
                continue
            if aggregations[-1]:  # the first step after a pass starts the next document pass
                segments.append([])
                aggregations.append([])
            label = f"{index:02d}-{getattr(item, 'name', type(item).__name__)}"
            if isinstance(item, CorpusStep):
                item.ledger_folder, item.ledger_name = str(layout.accounting), label
            segments[-1].append((label, item))

    if config.budget is not None:  # count tokens once the text is final: at the end of the last document pass
        counter = TokenCounter(config.budget.source_key, config.budget.bytes_per_token)
        counter.ledger_folder, counter.ledger_name = str(layout.accounting), BUDGET_COUNTER_LABEL
        segments[-1].append((BUDGET_COUNTER_LABEL, counter))

    passes: list[PassPlan] = []
    previous_documents: str | None = None
    for number, (segment, following) in enumerate(zip(segments, aggregations, strict=True)):
        name = f"{len(passes) + 1}-documents"
        logging_dir = str(layout.logs / name)
        if previous_documents is None:
            reader = _input_reader(config.input, input_root, input_files)
        else:
            reader = _documents_reader(previous_documents, "jsonl")
            reader.ledger_name = f"00-read-{name}"
        reader.ledger_folder = str(layout.accounting)
        last = number == len(segments) - 1
        output_format = config.output.format if last else "jsonl"
        out_folder = str(layout.data) if last else str(layout.work / "documents" / name)
        writer = _documents_writer(out_folder, output_format, final=last)
        steps = [reader, ProgressBeacon(os.path.join(logging_dir, "progress"))] + [s for _, s in segment] + [writer]
        labels = ["read", "progress"] + [label for label, _ in segment] + ["write" if last else "write-intermediate"]
        passes.append(PassPlan(name, steps, tasks, logging_dir, labels))
        previous_documents = out_folder
        for aggregation in following:
            agg_name = f"{len(passes) + 1}-{aggregation.name}"
            agg_steps = list(aggregation.steps)
            agg_labels = [getattr(s, "name", type(s).__name__) for s in agg_steps]
            if aggregation.reads_documents:
                # No ledger: these are copies of documents already accounted for by the document pass.
                agg_steps.insert(0, _documents_reader(out_folder, output_format))
                agg_labels.insert(0, "read")
            passes.append(
                PassPlan(agg_name, agg_steps, aggregation.tasks, str(layout.logs / agg_name), agg_labels, False)
            )
    return passes
