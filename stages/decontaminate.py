"""Decontamination: documents that share a word n-gram (12 by default, as datatrove and GPT-3) with an
evaluation benchmark are dropped (or flagged), so the trained model is not scored on text it saw.

Matching is datatrove's `NGramsDecontFilter` (its text normalisation, word tokenizer and n-gram hash).
Its index is built here from benchmark files given by path: datatrove's own indexer fetches benchmarks
through lighteval from the Hugging Face Hub at run time, which a run must never do. The index is the
format the filter reads (one `<benchmark>.index.hashes` file of uint64 hashes per benchmark), built by
each task into its own folder from the same public helpers the indexer uses.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Literal

from datatrove.data import Document
from pydantic import Field, field_validator

from stages.base import (
    CorpusStep,
    Drop,
    ReportContext,
    ReportSection,
    StageContext,
    StageOptions,
    read_summaries,
    write_summary,
)


def benchmark_items(path: str, fields: list[str] | None) -> list[str]:
    """The texts of one benchmark file: per JSONL line or Parquet row, its `fields` (else every string
    field) joined in order; per non-empty line of any other file."""
    if path.endswith((".jsonl", ".json")):
        with open(path, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    elif path.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    items = []
    for row in rows:
        values = [row.get(key) for key in fields] if fields else list(row.values())
        items.append(" ".join(_strings(values)))
    return items


def _strings(values) -> list[str]:
    found = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):  # multiple-choice options
            found += _strings(value)
    return found


class Decontaminate(CorpusStep):
    """Reads `doc.text`; drops a document holding an n-gram of a benchmark, with reason
    `contaminated/<benchmark>` (the file's name without extension), or with `action: flag` keeps it
    and sets `metadata.contaminated_task` and `metadata.contaminated_ngram`.

    Stats: `contaminated/<benchmark>`, plus the base step's counts; `<work>/summary/<rank>.json` holds
    the documents matched per benchmark, for the report.
    """

    name = "decontaminate"

    def __init__(self, options: DecontaminateOptions, work_folder: str):
        super().__init__()
        self.options = options
        self.work_folder = work_folder
        self._filter = None
        self._matched: Counter = Counter()

    def _index(self, rank: int) -> str:
        import numpy as np
        from datatrove.pipeline.decont import NGramsDecontConfig
        from datatrove.utils.hashing import create_hash_func
        from datatrove.utils.text import ngrams, simplify_text
        from datatrove.utils.word_tokenizers import load_word_tokenizer

        config = NGramsDecontConfig(n_grams=self.options.n_grams)
        tokenizer = load_word_tokenizer(self.options.language)
        hash_of = create_hash_func(config.hash_config)
        folder = os.path.join(self.work_folder, "index", f"{rank:05d}")
        os.makedirs(folder, exist_ok=True)
        for path in self.options.benchmarks:
            hashes = set()
            for item in benchmark_items(path, self.options.fields):
                words = tokenizer.word_tokenize(simplify_text(item, config.norm_config))
                hashes.update(hash_of(" ".join(gram)) for gram in ngrams(words, config.n_grams))
            array = np.array(sorted(hashes), dtype=config.hash_config.np_descr)
            array.tofile(os.path.join(folder, f"{benchmark_name(path)}.index.hashes"))
        return folder

    def run(self, data, rank: int = 0, world_size: int = 1):
        from datatrove.pipeline.decont import NGramsDecontConfig, NGramsDecontFilter

        config = NGramsDecontConfig(n_grams=self.options.n_grams)
        self._filter = NGramsDecontFilter(self._index(rank), config=config, language=self.options.language)
        self._matched = Counter({benchmark_name(path): 0 for path in self.options.benchmarks})
        try:
            yield from super().run(data, rank, world_size)
        finally:
            write_summary(self.work_folder, rank, self._matched)

    def process(self, doc: Document) -> Document:
        verdict = self._filter.filter(doc)
        if verdict is True:
            return doc
        benchmark = doc.metadata["contaminated_task"]
        self._matched[benchmark] += 1
        self.stat_update(f"contaminated/{benchmark}")
        if self.options.action == "flag":
            return doc
        # The matched n-gram is benchmark text, but also the document's: it stays out of the ledger.
        doc.metadata.pop("contaminated_ngram", None)
        raise Drop(f"contaminated/{benchmark}")


def benchmark_name(path: str) -> str:
    name = os.path.basename(path)
    for suffix in (".jsonl", ".json", ".parquet", ".txt"):
        name = name.removesuffix(suffix)
    return name.replace(" ", "_")


class DecontaminateOptions(StageOptions):
    """`decontaminate`: drop documents sharing an n-gram with a benchmark (put it after the text is final)."""

    stage: Literal["decontaminate"] = "decontaminate"
    benchmarks: list[str] = Field(min_length=1, description="benchmark files: JSONL, Parquet, or text (a line each)")
    fields: list[str] | None = Field(None, description="JSONL/Parquet fields to read; default every string field")
    n_grams: int = Field(12, ge=4, description="words per n-gram (datatrove and GPT-3 use 12)")
    language: str = "en"
    action: Literal["drop", "flag"] = "drop"

    @field_validator("benchmarks")
    @classmethod
    def _names_differ(cls, paths: list[str]) -> list[str]:
        names = [benchmark_name(path) for path in paths]
        if len(set(names)) != len(names):
            raise ValueError(f"two benchmark files share a name ({', '.join(names)}): rename one")
        return paths

    def build(self, context: StageContext) -> list:
        # Checked when the run is planned, not when the config is read: a config stays checkable anywhere.
        missing = [path for path in self.benchmarks if not os.path.isfile(path)]
        if missing:
            raise ValueError(f"benchmark file(s) not found: {', '.join(missing)}")
        located = self.model_copy(update={"benchmarks": [os.path.abspath(path) for path in self.benchmarks]})
        return [Decontaminate(located, context.work_folder)]

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        matched = read_summaries(context.work_folders)
        if matched is None:
            return None
        lines = ["## Decontamination", "", "Documents sharing an n-gram with each benchmark:", ""]
        lines += ["| benchmark | documents |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in sorted(matched.items())]
        return "decontamination", "\n".join(lines), dict(matched)
