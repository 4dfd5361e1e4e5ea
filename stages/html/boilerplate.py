"""Line-level boilerplate removal after extraction, in the spirit of C4's and FineWeb's line rules.

Extractors keep what sits inside the main-content block; sites put notices, share prompts and menus
there too. Each rule is switchable, and counted per rule in the stats.
"""

from __future__ import annotations

from collections import Counter

from datatrove.data import Document

from stages.base import CorpusStep, Drop

# With C4's English policy phrases (datatrove's POLICY_SUBSTRINGS, added when a step is built: importing
# datatrove's filters costs the config check 0.2 s), the same notices in the other languages we see most.
OTHER_NOTICE_PHRASES = (
    "©",
    "accept all cookies",
    "cookie settings",
    "privacy settings",
    "all rights reserved",
    "alle rechte vorbehalten",
    "datenschutzerklärung",
    "cookie-einstellungen",
    "verwendet cookies",
    "tous droits réservés",
    "politique de confidentialité",
    "utilise des cookies",
    "todos los derechos reservados",
    "política de privacidad",
    "utiliza cookies",
)
JAVASCRIPT_PHRASES = ("javascript",)
TERMINAL = (".", "!", "?", '"', "'", ":", ";", "»", "”", ")", "…")
RULES = ("notices", "javascript", "lorem_ipsum", "menu_runs", "repeated_lines")


def _is_menu_item(line: str, max_words: int) -> bool:
    return len(line.split()) <= max_words and not line.endswith(TERMINAL)


class RemoveBoilerplateLines(CorpusStep):
    """Reads `doc.text` (extracted text); writes it back without boilerplate lines.

    Rules, each on unless switched off:
    - `notices`: a line under 40 words naming cookies, privacy or terms, a rights reservation, or ©;
    - `javascript`: a line asking to enable JavaScript (C4);
    - `lorem_ipsum`: a line of placeholder text;
    - `menu_runs`: `menu_run` or more consecutive lines of at most `menu_words` words with no
      terminal punctuation (a single short line is usually a heading and stays);
    - `repeated_lines`: a line under 10 words that occurs more than once on the page (every copy).

    Stats: the base step's counts, `lines_in`, `lines_removed/<rule>`. A document left with no line
    is dropped as `only_boilerplate`.
    """

    name = "html.boilerplate"

    def __init__(self, rules: tuple[str, ...] = RULES, menu_run: int = 3, menu_words: int = 4):
        super().__init__()
        unknown = set(rules) - set(RULES)
        if unknown:
            raise ValueError(f"unknown boilerplate rule(s) {sorted(unknown)}; known: {', '.join(RULES)}")
        self.rules = frozenset(rules)
        from datatrove.pipeline.filters.c4_filters import POLICY_SUBSTRINGS

        self.notice_phrases = tuple(POLICY_SUBSTRINGS) + OTHER_NOTICE_PHRASES
        self.menu_run = menu_run
        self.menu_words = menu_words

    def _line_rule(self, line: str, counts: Counter) -> str | None:
        """The rule that removes this line on its own, if any."""
        lowered = line.lower()
        words = len(line.split())
        if "notices" in self.rules and words < 40 and any(p in lowered for p in self.notice_phrases):
            return "notices"
        if "javascript" in self.rules and any(p in lowered for p in JAVASCRIPT_PHRASES):
            return "javascript"
        if "lorem_ipsum" in self.rules and "lorem ipsum" in lowered:
            return "lorem_ipsum"
        if "repeated_lines" in self.rules and words < 10 and counts[line] > 1:
            return "repeated_lines"
        return None

    def process(self, doc: Document) -> Document:
        lines = [line.strip() for line in doc.text.split("\n") if line.strip()]
        self.stat_update("lines_in", value=len(lines))
        counts = Counter(lines)
        kept: list[str | None] = []
        for line in lines:
            rule = self._line_rule(line, counts)
            if rule:
                self.stat_update(f"lines_removed/{rule}")
                kept.append(None)
            else:
                kept.append(line)
        if "menu_runs" in self.rules:
            kept = self._without_menu_runs(kept)
        text = "\n".join(line for line in kept if line is not None)
        if not text:
            raise Drop("only_boilerplate")
        if text != doc.text:
            doc.text = text
        return doc

    def _without_menu_runs(self, lines: list[str | None]) -> list[str | None]:
        result = list(lines)
        start = 0
        while start < len(lines):
            end = start
            while end < len(lines) and lines[end] is not None and _is_menu_item(lines[end], self.menu_words):
                end += 1
            if end - start >= self.menu_run:
                for index in range(start, end):
                    result[index] = None
                self.stat_update("lines_removed/menu_runs", value=end - start)
            start = max(end, start + 1)
        return result
