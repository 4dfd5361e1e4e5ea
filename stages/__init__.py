"""Corpus-prep stages: one module per stage, each a datatrove step plus the options the config accepts.

`STAGE_OPTIONS` lists every stage the YAML config knows, by its `stage:` name.
"""

import pipeline  # noqa: F401  (first: keeps document text out of loguru tracebacks, see pipeline/__init__.py)
from stages.base import CorpusStep, Drop, Pass, StageContext, StageOptions
from stages.decontaminate import DecontaminateOptions
from stages.dedup import MinhashDedupOptions
from stages.exact_dedup import ExactDedupOptions
from stages.html import HtmlOptions
from stages.language import LanguageOptions
from stages.mds import MdsOptions
from stages.normalize import NormalizeOptions, TextNormalizer
from stages.pii import PiiOptions
from stages.quality import QualityOptions
from stages.tokenize import TokenizeOptions
from stages.url_filter import UrlFilterOptions

STAGE_OPTIONS: tuple[type[StageOptions], ...] = (
    UrlFilterOptions,
    HtmlOptions,
    LanguageOptions,
    NormalizeOptions,
    QualityOptions,
    ExactDedupOptions,
    MinhashDedupOptions,
    PiiOptions,
    TokenizeOptions,
    DecontaminateOptions,
    MdsOptions,
)

__all__ = [
    "STAGE_OPTIONS",
    "CorpusStep",
    "DecontaminateOptions",
    "Drop",
    "ExactDedupOptions",
    "HtmlOptions",
    "LanguageOptions",
    "MdsOptions",
    "MinhashDedupOptions",
    "NormalizeOptions",
    "Pass",
    "PiiOptions",
    "QualityOptions",
    "StageContext",
    "StageOptions",
    "TextNormalizer",
    "TokenizeOptions",
    "UrlFilterOptions",
]
