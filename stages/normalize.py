"""Text normalisation: Unicode NFC, mojibake repair, whitespace clean-up, empty-document drop."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import ftfy
from datatrove.data import Document

from stages.base import CorpusStep, Drop, StageContext, StageOptions

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")  # runs of whitespace other than newlines
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")  # three or more line breaks, with blanks between
# Characters no reader sees: format characters (zero-width spaces and joiners, bidi controls, the BOM),
# controls and lone surrogates. A text of only these is empty, however many there are.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Cs"})


def visible_chars(text: str, enough: int) -> int:
    """How many characters of the text are visible (not space, not invisible), counted up to `enough`."""
    count = 0
    for char in text:
        if not char.isspace() and unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
            count += 1
            if count >= enough:
                break
    return count


class TextNormalizer(CorpusStep):
    """Reads `doc.text`; writes it back normalised; drops documents left empty or with fewer than
    `min_chars` visible characters (zero-width and bidi characters do not count).

    In order: ftfy repairs mojibake and control characters (optional, after a first pass over spaces),
    Unicode NFC composes accents, runs of spaces and tabs become one space, lines are stripped, more
    than one blank line becomes one.

    Stats: the base step's counts, `changed` (documents whose text changed), `dropped/empty` and
    `dropped/too_short`.
    """

    name = "normalize"

    def __init__(self, fix_mojibake: bool = True, unicode_form: str = "NFC", min_chars: int = 1):
        super().__init__()
        self.fix_mojibake = fix_mojibake
        self.unicode_form = unicode_form
        self.min_chars = min_chars

    def normalize(self, text: str) -> str:
        if self.fix_mojibake:
            # Spaces first: ftfy reads "Â" before a space as a broken no-break space and removes it, so a
            # tab there, made a space only afterwards, would be repaired only by a second run (hypothesis
            # found "Â\t0"); normalising must give the same text when run again.
            text = _HORIZONTAL_SPACE.sub(" ", text)
            # ftfy's defaults would also rewrite quotes and ligatures; keep the text's characters.
            text = ftfy.fix_text(text, normalization=None, uncurl_quotes=False, fix_latin_ligatures=False)
        text = unicodedata.normalize(self.unicode_form, text)
        text = _HORIZONTAL_SPACE.sub(" ", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
        return _BLANK_LINES.sub("\n\n", text).strip()

    def process(self, doc: Document) -> Document:
        normalized = self.normalize(doc.text)
        visible = visible_chars(normalized, max(self.min_chars, 1))
        if not visible:
            raise Drop("empty")
        if visible < self.min_chars:
            raise Drop("too_short")
        if normalized != doc.text:
            self.stat_update("changed")
            doc.text = normalized
        return doc


class NormalizeOptions(StageOptions):
    """`normalize`: Unicode NFC, mojibake repair (ftfy), whitespace clean-up, drop of empty documents."""

    stage: Literal["normalize"] = "normalize"
    fix_mojibake: bool = True
    unicode_form: Literal["NFC", "NFKC"] = "NFC"
    min_chars: int = 1

    def build(self, context: StageContext) -> list:
        return [TextNormalizer(self.fix_mojibake, self.unicode_form, self.min_chars)]
