"""The normalize stage against the same three library calls in a bare loop (its overhead as a step)."""

from __future__ import annotations

import re
import unicodedata

import ftfy
from datatrove.data import Document

from bench.harness import Comparison, best_seconds
from pipeline.sample.prose import LANGUAGES, Prose
from stages.normalize import TextNormalizer


def _texts(count: int) -> list[str]:
    import random

    rng = random.Random(0)
    texts = []
    for i in range(count):
        prose = Prose(rng, LANGUAGES[i % len(LANGUAGES)])
        texts.append("\n\n".join("  " + prose.paragraph() + "   " for _ in range(6)))
    return texts


def run(documents: int = 3000) -> list[Comparison]:
    texts = _texts(documents)
    space, blank = re.compile(r"[^\S\n]+"), re.compile(r"\n\s*\n\s*(?:\n\s*)+")

    def bare() -> None:
        for text in texts:
            text = ftfy.fix_text(text, normalization=None, uncurl_quotes=False, fix_latin_ligatures=False)
            text = unicodedata.normalize("NFC", text)
            text = space.sub(" ", text)
            text = "\n".join(line.strip() for line in text.split("\n"))
            blank.sub("\n\n", text).strip()

    def stage() -> None:
        step = TextNormalizer()
        for _ in step.run(Document(text=t, id=str(i)) for i, t in enumerate(texts)):
            pass

    ours, baseline = best_seconds([stage, bare])
    return [Comparison("normalize stage", "docs/s", documents / ours, documents / baseline, "bare ftfy+NFC loop", 0.9)]
