"""The step interface every stage follows.

A stage is a datatrove `PipelineStep`, so it runs under any datatrove executor and can be dropped into a
hand-written datatrove pipeline. `CorpusStep` adds what datatrove leaves to each step: a document that
does not continue is either *dropped* (a decision, with a reason) or *quarantined* (an error, with its
type), counted in the step's stats and written to the ledger (pipeline/ledger.py) by id, so no
document vanishes silently.

A stage's options are a pydantic model (`StageOptions`) that the YAML config validates, and whose
`build()` returns the steps to run, and the extra passes the stage needs (see `Pass`).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel, ConfigDict

from pipeline.ledger import DROPPED, QUARANTINED, Ledger


class Drop(Exception):
    """Raised by `CorpusStep.process` to drop a document on purpose; `reason` is a short stable slug."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# What personal data in an error message looks like without knowing the document: five or more digits,
# separators allowed (SSNs, phones, cards, IPs: `invalid literal for int(): '590-21-5675'`), or an e-mail.
# A line or column number of up to four digits still passes, so most messages stay useful.
_PERSONAL_LOOKING = re.compile(r"\d(?:[\s.\-/]?\d){4,}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class TaskError(Exception):
    """Raised by a step when its task cannot go on whatever the document (a lost connection): the task
    fails and a rerun redoes it, instead of every document being quarantined for it."""


def describe_error(error: BaseException, text: str) -> str:
    """An error's type and message, fit for logs: withheld when the message quotes the document or
    holds anything that looks like personal data."""
    message = str(error)[:300]
    if message and _PERSONAL_LOOKING.search(message):
        message = "message withheld: it holds digits or an e-mail address"
    elif message and text and _quotes(message, text):
        message = "message withheld: it quotes the document"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _quotes(message: str, text: str, window: int = 12) -> bool:
    """Whether any `window`-character run of the message occurs in the text (cheap enough per error)."""
    if len(message) < window:
        return message in text
    return any(message[i : i + window] in text for i in range(0, len(message) - window + 1, window // 2))


class CorpusStep(PipelineStep):
    """Base of every corpus-prep step: per-document `process`, with drops and errors accounted for.

    Subclasses implement `process(doc)` returning the (modified) document, or raising `Drop(reason)`.
    Any other exception quarantines that document and the run goes on. A step that works faster on many
    documents at once (an NER model, a tokenizer, a shared index) sets `batch_size` and overrides
    `process_batch`; everything else about the step stays the same.

    Stats recorded for every step: `documents_in`, `documents_out`, `bytes_in`, `bytes_out` (UTF-8),
    `dropped` and `dropped/<reason>`, `quarantined` and `quarantined/<error type>`.
    """

    type = "corpus-prep"
    name: ClassVar[str] = "step"
    batch_size: int = 1  # documents handed to `process_batch` at once

    def __init__(self) -> None:
        super().__init__()
        # Set by the runner: where the ledger goes and the step's unique name within the run.
        self.ledger_folder: str | None = None
        self.ledger_name: str = self.name

    def process(self, doc: Document) -> Document:
        raise NotImplementedError

    def process_batch(self, docs: list[Document]) -> list[Document | Exception]:
        """Each document's outcome, in order: the (modified) document, or the exception that stops it
        (`Drop` drops it, any other quarantines it). By default, `process` on each document. If this
        raises, each document of the batch goes through `process` alone, so a bad one costs only itself."""
        return [outcome_of(self.process, doc) for doc in docs]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with Ledger(self.ledger_folder, self.ledger_name, rank) as ledger:
            documents = iter(data or ())
            while batch := list(itertools.islice(documents, self.batch_size)):
                yield from self._accounted(batch, ledger)

    def _accounted(self, batch: list[Document], ledger: Ledger) -> DocumentsPipeline:
        texts_in = [doc.text for doc in batch]
        bytes_in = [len(text.encode("utf-8", "surrogatepass")) for text in texts_in]
        self.stat_update("documents_in", value=len(batch))
        self.stat_update("bytes_in", value=sum(bytes_in))
        with self.track_time(unit="batch" if self.batch_size > 1 else None):
            try:
                outcomes = self.process_batch(batch)
            except TaskError:
                raise
            except Exception:  # noqa: BLE001 - retried one by one below
                outcomes = CorpusStep.process_batch(self, batch)
        for doc, text_in, size_in, outcome in zip(batch, texts_in, bytes_in, outcomes, strict=True):
            if isinstance(outcome, Drop):
                self.stat_update(DROPPED, f"{DROPPED}/{outcome.reason}")
                ledger.record(doc.id, DROPPED, outcome.reason)
            elif isinstance(outcome, BaseException):
                self.stat_update(QUARANTINED, f"{QUARANTINED}/{type(outcome).__name__}")
                ledger.record(doc.id, QUARANTINED, describe_error(outcome, text_in))
            else:
                # Most steps pass most texts through untouched: count those bytes once, not twice.
                size_out = size_in if outcome.text is text_in else len(outcome.text.encode("utf-8", "surrogatepass"))
                self.stat_update("documents_out")
                self.stat_update("bytes_out", value=size_out)
                yield outcome


def outcome_of(function, *args) -> Document | Exception:
    """`function(*args)`, or the exception it raised: an outcome for `process_batch`."""
    try:
        return function(*args)
    except TaskError:
        raise
    except Exception as error:  # noqa: BLE001 - the caller accounts for it per document
        return error


class AggregationStep(PipelineStep):
    """A step of an aggregation `Pass`: it reads and writes files of its own, not documents.

    Subclasses implement `aggregate(rank, world_size)`. It runs once the steps before it in the pass
    have run (their output is consumed first), so one one-task pass can chain several aggregations.
    """

    type = "corpus-prep"

    def aggregate(self, rank: int, world_size: int) -> None:
        raise NotImplementedError

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from data or ()
        self.aggregate(rank, world_size)


class StageOptions(BaseModel):
    """Options of one stage as written in the YAML config; `stage` names the stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    stage: str

    def build(self, context: StageContext) -> list[PipelineStep | Pass]:
        """The steps this stage adds to the run, in order; a `Pass` item ends the current pass."""
        raise NotImplementedError

    def scrubs_names(self) -> bool:
        """Whether this stage removes people's names: only after one may a later stage quote text in the
        report (see `StageContext.personal_data_scrubbed`)."""
        return False

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        """This stage's section of the run report, from the files its steps left in their work folders.
        Called once per stage type the config uses, after the run; None adds no section."""
        return None

    @staticmethod
    def import_libraries() -> None:
        """Import the heavy libraries this stage's steps import lazily (lazily, so that checking a
        config stays fast). The run calls it ahead of time in the process its pool workers fork from
        (pipeline/worker_imports.py); nothing to import by default."""


@dataclass(frozen=True)
class StageContext:
    """What a stage may know of the run when it builds its steps."""

    work_folder: str  # private scratch space for this stage within the run's output folder
    output_folder: str  # the run's output folder, for stages whose product is not documents
    tasks: int
    # What earlier stages made for later ones, by name (e.g. "tokenizer"); shared by one run's stages.
    artifacts: dict = field(default_factory=dict)
    # Whether a `pii` stage that scrubs names (PERSON) runs before this one: only then may a stage quote
    # text in the report (identifiers alone scrubbed would leave every name in the quote).
    personal_data_scrubbed: bool = False
    # Bytes of the run's input files (0 when unknown): stages size their aggregation passes by it.
    input_bytes: int = 0


# A section of the run report: its key in report.json, its Markdown, and its data for report.json.
ReportSection = tuple[str, str, dict]


@dataclass(frozen=True)
class ReportContext:
    """What a stage may read of a finished run to write its report section."""

    work_folders: list[Path]  # the stage's work folders, one per time the config uses it, in order
    output_folder: Path  # the run's output folder: plots go here, beside report.md
    data_folder: Path  # the kept documents
    output_format: str  # their format (jsonl | parquet)
    # The generated sample's labels (ground_truth.jsonl), when the run read the generated sample.
    ground_truth: Path | None = None


def write_summary(work_folder: str, rank: int, counts: dict) -> None:
    """A task's counts for its stage's report section: `<work>/summary/<rank>.json`."""
    folder = Path(work_folder, "summary")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rank:05d}.json").write_text(json.dumps(dict(counts), sort_keys=True))


def read_summaries(work_folders: list[Path]) -> Counter | None:
    """Every task's `write_summary` counts, added up; None when no task wrote any."""
    paths = [path for folder in work_folders for path in sorted(Path(folder, "summary").glob("*.json"))]
    if not paths:
        return None
    counts: Counter = Counter()
    for path in paths:
        counts.update(json.loads(path.read_text()))
    return counts


@dataclass
class Pass:
    """A pass over the data that must finish, for every task, before the run goes on.

    Stages that need all documents before they can decide about any (deduplication, global shuffles)
    put their first steps in the current pass, return a `Pass` that aggregates what those steps wrote,
    and continue with steps that read the aggregate. The runner materialises the documents between
    passes, so the steps after a `Pass` may run with any number of tasks.

    With `reads_documents`, the pass's first step receives the documents written so far (for example to
    train a tokenizer on them); otherwise its steps read only their own files.
    """

    name: str
    steps: list[PipelineStep] = field(default_factory=list)
    tasks: int = 1
    reads_documents: bool = False
