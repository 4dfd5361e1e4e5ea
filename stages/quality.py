"""Document-level quality filters: datatrove's implementations of the Gopher, C4 and FineWeb rules,
each a stage with its options in the config and every drop counted by filter and reason.

These rules exist, tested, in datatrove; this module only makes them configurable from YAML and
accountable (a drop goes to the ledger with its reason instead of an exclusion writer).
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

from datatrove.data import Document
from pydantic import Field, model_validator

from stages.base import CorpusStep, Drop, StageContext, StageOptions


def _filter_classes() -> dict[str, type]:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    return {
        "gopher_quality": GopherQualityFilter,  # word counts, word length, symbol and bullet ratios, stop words
        "gopher_repetition": GopherRepetitionFilter,  # duplicated lines, paragraphs and n-grams
        "c4": C4QualityFilter,  # C4's line rules (terminal punctuation, min words, policy) and page rules
        "fineweb": FineWebQualityFilter,  # FineWeb's line-punctuation, short-line and duplicate-line ratios
    }


FilterName = Literal["gopher_quality", "gopher_repetition", "c4", "fineweb"]


class QualityFilter(CorpusStep):
    """Reads `doc.text`; the `c4` filter also rewrites it without the lines it removes. Drops a
    document the datatrove filter rejects, with reason `<filter>/<datatrove's reason>`.

    Stats: the base step's counts and the datatrove filter's own (e.g. `line-filter-policy`).
    """

    def __init__(self, filter_name: str, options: dict[str, Any]):
        super().__init__()
        self.name = f"quality.{filter_name}"
        self.filter_name = filter_name
        self._filter = _filter_classes()[filter_name](**options)
        self._filter.stats = self.stats  # its per-rule counters land in this step's stats

    def process(self, doc: Document) -> Document:
        verdict = self._filter.filter(doc)
        keep, reason = verdict if isinstance(verdict, tuple) else (verdict, None)
        if not keep:
            raise Drop(f"{self.filter_name}/{reason or 'rejected'}")
        return doc


class QualityOptions(StageOptions):
    """`quality`: one of datatrove's document quality filters; `options` are its constructor's arguments."""

    stage: Literal["quality"] = "quality"
    filter: FilterName = Field(description="gopher_quality | gopher_repetition | c4 | fineweb")
    options: dict[str, Any] = Field(default_factory=dict, description="the datatrove filter's arguments")

    @model_validator(mode="after")
    def _known_options(self) -> QualityOptions:
        parameters = inspect.signature(_filter_classes()[self.filter].__init__).parameters
        allowed = sorted(p for p in parameters if p not in ("self", "exclusion_writer"))
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise ValueError(f"{self.filter} has no option {unknown[0]!r}; it takes {', '.join(allowed)}")
        return self

    def build(self, context: StageContext) -> list:
        return [QualityFilter(self.filter, dict(self.options))]
