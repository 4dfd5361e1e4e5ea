"""presidio's findings at a fraction of its cost: find where an entity can be, analyze only there.

presidio tokenizes the whole document with spaCy and runs every recognizer over all of it; its phone
recognizer parses every run of digits once per region. Most of a web page holds no personal data. So:

1. Candidates, per entity type, in a way that cannot miss what presidio would find:
   - pattern recognizers (e-mail, card, IBAN, IP, national IDs) run their own regular expressions and
     checksums over the document, without spaCy, and only inside the stretches their pattern's gate
     says a match can be (`stages.pii.gates`, read from the document's character classes);
   - phone numbers: every run of phonenumbers' own candidate characters holding at least 4 digits (no
     valid number in any region is shorter), judged once per distinct run (`stages.pii.phone`).
2. Each candidate is widened to whole words, far enough that presidio's context window (the keywords
   before and after a finding that raise its score) lies inside, and overlapping windows merge.
3. presidio's `AnalyzerEngine.analyze` runs on each window, for the types that had candidates there
   (its phone recognizer reading only the candidate runs, see `CandidatePhoneRecognizer`; its NLP
   engine told the document's colon keywords, see `_colon_parts`); findings are shifted back to
   document offsets and kept if they overlap a candidate of their type.

A phone run opening inside the previous number's extension cannot be read alone: such chains of runs
are read whole, from where phonenumbers' matcher reads afresh, and their numbers are candidates
(`ChainedNumbers`). The result equals `analyze` over the whole document (tests assert it on labelled
sentences, web text, the sample corpus and generated text). The NER types (PERSON, LOCATION, ...) are
found over whole documents, a batch at a time (`stages.pii.names`).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence

from presidio_analyzer import PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer

from stages.pii.characters import COLON, DIGIT_CLUSTER_GAP, JoinedTexts
from stages.pii.engine import LANGUAGE
from stages.pii.gates import covering, gate_for, pattern_reach
from stages.pii.names import NamedEntities
from stages.pii.phone import (
    NO_CHAINS,
    PHONE_CANDIDATE,
    PHONE_CANDIDATE_LEAD,
    CandidatePhoneRecognizer,
    ChainedNumbers,
    PhoneVerdicts,
)
from stages.pii.window_nlp import TokenStringsNlpEngine, WindowContextEnhancer


def _compiled(pattern, flags: int):
    """The pattern compiled as presidio compiles it (the `regex` module, the recognizer's flags)."""
    if pattern.compiled_regex is None or pattern.compiled_with_flags != flags:
        import regex

        pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
        pattern.compiled_with_flags = flags
    return pattern.compiled_regex


def _window_analyzer(analyzer, old, new):
    """The analyzer's twin: `new` recognizer in place of `old`, token strings for spaCy Tokens."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    recognizers = [new if r is old else r for r in analyzer.registry.recognizers]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=TokenStringsNlpEngine.replacing(analyzer.nlp_engine),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=WindowContextEnhancer.like(analyzer.context_aware_enhancer),
    )


_ASCII_DIGIT = re.compile("[0-9]")
_LETTERS_THEN_COLONS = re.compile(r"[^\W\d_]+:+")  # letters of any script, then colons


class WindowedAnalyzer:
    """`analyze(text)` returns what `AnalyzerEngine.analyze(text, ...)` returns, analyzing only windows.

    Reads nothing but the text; `windows_analyzed`, `characters_analyzed` and `chains_read` (chains of
    phone runs read whole) count the work done.
    """

    def __init__(self, analyzer, entities: list[str], score_threshold: float, whole_documents: bool = False):
        self.analyzer = analyzer
        self.entities = list(entities)
        self.score_threshold = score_threshold
        recognizers = analyzer.registry.get_recognizers(language=LANGUAGE, entities=self.entities)
        # (type, compiled pattern, how far past a match its lookaheads read), and where its matches can be
        self.pattern_scans, gates = [], []
        for recognizer in recognizers:
            if not isinstance(recognizer, PatternRecognizer):
                continue
            entity = recognizer.supported_entities[0]
            flags = recognizer.global_regex_flags
            for p in recognizer.patterns:
                self.pattern_scans.append((entity, _compiled(p, flags), pattern_reach(p.regex, flags)))
                gates.append(gate_for(entity, p.regex, flags))
        gates = covering(gates)
        self.gates = list(dict.fromkeys(gates))  # each computed once per text
        self._gate_of_scan = [self.gates.index(gate) for gate in gates]
        # Texts are joined for the gates (`JoinedTexts`) with more room between them than anything reaches.
        reaches = [getattr(gate, "width", None) for gate in self.gates] + [DIGIT_CLUSTER_GAP, PHONE_CANDIDATE_LEAD]
        self._separator_gap = 1 + max(reach for reach in reaches if reach is not None)
        phone = next((r for r in recognizers if isinstance(r, PhoneRecognizer)), None)
        self.phone_verdicts = PhoneVerdicts(phone) if phone is not None else None
        self._window_phone = CandidatePhoneRecognizer(phone, self.phone_verdicts) if phone is not None else None
        self._window_analyzer = _window_analyzer(analyzer, phone, self._window_phone)
        self._window_nlp = self._window_analyzer.nlp_engine
        ner = next((r for r in recognizers if isinstance(r, SpacyRecognizer)), None)
        self.names = NamedEntities(analyzer.nlp_engine, ner, self.entities, score_threshold) if ner else None
        others = [r for r in recognizers if not isinstance(r, PatternRecognizer | PhoneRecognizer | SpacyRecognizer)]
        # The windows reproduce presidio's context words only with lemmas that are the lower-cased words;
        # recognizers of other kinds (a user's own) read the whole document.
        self.whole_documents = (
            whole_documents or bool(others) or not isinstance(self._window_nlp, TokenStringsNlpEngine)
        )
        enhancer = analyzer.context_aware_enhancer
        self.keywords_before = enhancer.context_prefix_count + 2
        self.keywords_after = enhancer.context_suffix_count + 2
        self._nlp = analyzer.nlp_engine.nlp[LANGUAGE]
        self._keywords_in_word: dict[str, int] = {}
        self._colon_parts_of_word: dict[str, set[str]] = {}
        self._tokenizer_exceptions = self._nlp.tokenizer.rules
        self._stop_words = self._nlp.Defaults.stop_words
        # The first and last letters of the words presidio drops from keywords (stop words, "be").
        non_keywords = [*self._stop_words, "be"]
        self._non_keyword_edges = frozenset(w[:1] for w in non_keywords) | frozenset(w[-1:] for w in non_keywords)
        self.windows_analyzed = 0
        self.characters_analyzed = 0
        self.chains_read = 0

    def whole(self, text: str) -> list[RecognizerResult]:
        """presidio over the whole document: what the windows must reproduce."""
        return self.analyzer.analyze(
            text, language=LANGUAGE, entities=self.entities, score_threshold=self.score_threshold
        )

    def analyze(self, text: str) -> list[RecognizerResult]:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[RecognizerResult]]:
        """`analyze` of each text; the character-class work is done once for all of them."""
        if self.whole_documents:
            self.windows_analyzed += len(texts)
            self.characters_analyzed += sum(map(len, texts))
            return [self.whole(text) for text in texts]
        patterns = self._patterns_of_many(texts)
        if self.names is None:
            return patterns
        return [found + names for found, names in zip(patterns, self.names.find_many(list(texts)), strict=True)]

    def _patterns_of_many(self, texts: Sequence[str]) -> list[list[RecognizerResult]]:
        joined = JoinedTexts(texts, self._separator_gap)
        classes = joined.classes
        spans_of_gate = [joined.split(gate.spans(classes)) for gate in self.gates]
        phone_stretches = joined.split(classes.phone_stretches(PHONE_CANDIDATE_LEAD))
        colon_tokens = joined.split(classes.tokens_around(classes.positions(COLON)))
        return [
            self._analyze(joined, index, [spans[index] for spans in spans_of_gate], phone_stretches[index],
                          colon_tokens[index])
            for index in range(len(texts))
        ]  # fmt: skip

    def _analyze(self, joined: JoinedTexts, index: int, spans_of_gate, phone_stretches, colon_tokens):
        text = joined.texts[index]
        candidates = self._candidates_of_patterns(text, spans_of_gate)
        digit_positions = lambda: joined.positions_in(index, joined.classes.digit_positions)  # noqa: E731
        phones, chained = self._phone_candidates(text, phone_stretches, digit_positions)
        candidates += phones
        results = []
        if not candidates:
            return results
        self._window_nlp.document_keywords = self._colon_parts(text, colon_tokens)
        if self._window_phone is not None:
            self._window_phone.chained = chained
        for start, end, entities, spans in self._windows(text, joined.word_starts(index), candidates):
            self.windows_analyzed += 1
            self.characters_analyzed += end - start
            if self._window_phone is not None:
                self._window_phone.offset = start
            found = self._window_analyzer.analyze(
                text[start:end], language=LANGUAGE, entities=sorted(entities), score_threshold=self.score_threshold
            )
            overlaps = _Overlaps(spans) if found else None
            for result in found:
                result.start += start
                result.end += start
                # A finding counts where it overlaps a candidate of its own type: a phone run the window
                # cuts at its edge (not a candidate, so not protected) may read as a number there.
                if overlaps(result.entity_type, result.start, result.end):
                    results.append(result)
        return results

    def _colon_parts(self, text: str, colon_tokens: list[tuple[int, int]]) -> set[str]:
        """The parts of the document's context keywords that hold a colon ("a:10" gives "a" and "10") and
        are no keywords on their own (stop words, punctuation, "be").

        presidio splits keywords at colons, and a word counts as context if it is in the document's
        keyword list; so a part such as the stop word "a" counts everywhere in the document once some
        token holds it. The windows are told of such parts from outside them, to count as presidio does.
        (A part that is a keyword on its own is already among a window's keywords wherever it is a word.)"""
        parts = set()
        for start, end in colon_tokens:
            word = text[start:end]
            found = self._colon_parts_of_word.get(word)
            if found is None:
                if self._may_hold_a_non_keyword_part(word):
                    lemmas = [token.lower_ for token in self._nlp.tokenizer(word)]
                    keywords = self._presidio_keywords([lemma for lemma in lemmas if ":" in lemma])
                    found = {part for part in keywords if not self._presidio_keywords([part])}
                else:
                    found = set()
                if len(self._colon_parts_of_word) > 100_000:
                    self._colon_parts_of_word.clear()
                self._colon_parts_of_word[word] = found
            parts |= found
        return parts

    def _may_hold_a_non_keyword_part(self, word: str) -> bool:
        """Whether a token of the word may hold a colon beside a part that is no keyword on its own.

        A part touches a colon within its token, so the character beside each colon decides: a digit, a
        symbol, another colon or the word's edge begins or ends no stop word and no punctuation. And a
        word of letters ending in colons is cut before its colons by spaCy's tokenizer (a test
        checks it on every stop word and 20,000 others), so none of its tokens holds a colon and a letter."""
        if _LETTERS_THEN_COLONS.fullmatch(word):
            return False
        for colon in (index for index, character in enumerate(word) if character == ":"):
            for beside in word[colon - 1 : colon] + word[colon + 1 : colon + 2]:
                if beside != ":" and (
                    not beside.isascii()
                    or beside.lower() in self._non_keyword_edges
                    or unicodedata.category(beside).startswith("P")
                ):
                    return True
        return False

    def _phone_candidates(self, text: str, stretches, digit_positions):
        """(start, end, "PHONE_NUMBER") of the runs where some region's matcher finds a number, and of the
        numbers in chains of runs (a run opening inside the previous number's extension), with those
        chains' numbers (`ChainedNumbers`). `digit_positions()` gives the text's digit positions."""
        if self.phone_verdicts is None:
            return [], NO_CHAINS
        runs = [match for start, end in stretches for match in PHONE_CANDIDATE.finditer(text, start, end)]
        if not runs:
            return [], NO_CHAINS
        chained = ChainedNumbers.among(text, digit_positions(), runs, self.phone_verdicts)
        self.chains_read += len(chained.spans)
        candidates = [
            (run.start(), run.end(), "PHONE_NUMBER")
            for run in runs
            if not chained.covers(run.start()) and self.phone_verdicts(run.group())
        ]
        candidates += [(number.start, number.end, "PHONE_NUMBER") for number in chained.found]
        return candidates, chained

    def _candidates_of_patterns(self, text: str, spans_of_gate) -> list[tuple[int, int, str]]:
        """(start, end, type) of every match of every pattern, as a scan of the whole text finds them.

        Each pattern scans only the stretches its gate says every match lies in. No match crosses a
        stretch's edges, so the scan there pairs characters as the whole scan would; and it may stop
        `reach` characters past the stretch, where its lookaheads read their last character."""
        length = len(text)
        candidates = []
        for (entity, compiled, reach), gate in zip(self.pattern_scans, self._gate_of_scan, strict=True):
            spans = spans_of_gate[gate]
            if not spans:
                continue
            for start, end in spans:
                stop = length if reach is None else min(length, end + reach)
                for match in compiled.finditer(text, start, stop):
                    if match.start() >= end:
                        break
                    if match.end() > match.start():
                        candidates.append((match.start(), match.end(), entity))
        return candidates

    def _windows(self, text: str, word_starts: list[int], candidates):
        """Merged (start, end, entity types, candidates) windows of whole words around candidates.

        A window never cuts a candidate: regular expressions scan left to right without overlaps, so a
        window starting inside a run of matches (a table of numbers) would pair the digits differently.
        Every candidate lies inside its own window, and overlapping windows merge, so no merged window's
        edge can fall inside a candidate.
        """
        # Widening is monotone in the position (a later start widens to a later or equal word), so by
        # candidate start the windows' starts come in order, a candidate starting inside the last window
        # merges without widening, and a window ends where its furthest candidate end widens to.
        windows = []
        furthest = -1
        for start, end, entity in sorted(candidates):
            if not (windows and start <= windows[-1][1]):
                window_start = self._widen_backward(text, word_starts, start)
                if not (windows and window_start <= windows[-1][1]):
                    windows.append([window_start, 0, set(), []])
                    furthest = -1
            last = windows[-1]
            if end > furthest:
                furthest = end
                last[1] = max(last[1], self._widen_forward(text, word_starts, end))
            last[2].add(entity)
            last[3].append((start, end, entity))
        return windows

    def _widen_backward(self, text: str, word_starts: list[int], position: int) -> int:
        index = bisect.bisect_right(word_starts, position) - 1
        found = 0
        while index > 0 and found < self.keywords_before:
            index -= 1
            found += self._keywords(text[word_starts[index] : word_starts[index + 1]])
        return word_starts[index]

    def _widen_forward(self, text: str, word_starts: list[int], position: int) -> int:
        index = bisect.bisect_left(word_starts, position)
        found = 0
        while index < len(word_starts) and found < self.keywords_after:
            following = word_starts[index + 1] if index + 1 < len(word_starts) else len(text)
            found += self._keywords(text[word_starts[index] : following])
            index += 1
        return word_starts[index] if index < len(word_starts) else len(text)

    def _presidio_keywords(self, lemmas: list[str]) -> list[str]:
        """The context keywords presidio makes of these lemmas (its own filter: no stop words or
        punctuation, split at colons)."""
        return NlpArtifacts.set_keywords(self.analyzer.nlp_engine, lemmas, LANGUAGE)

    def _keywords(self, word: str) -> int:
        """How many of presidio's context keywords (non-stop, non-punctuation lemmas) a word yields."""
        count = self._keywords_in_word.get(word)
        if count is None:
            stripped = word.strip()
            if stripped.isascii() and stripped.isalpha() and stripped not in self._tokenizer_exceptions:
                # A plain word is one token, a keyword unless a stop word: spaCy's tokenizer would say
                # so too, at 50 times the cost and a vocabulary entry per new word.
                count = 0 if stripped.lower() in self._stop_words else 1
            elif ":" not in stripped and _ASCII_DIGIT.search(stripped):
                # The token holding the digit is a keyword (no stop word or punctuation has a digit);
                # there may be more, and counting too few only widens the window.
                return 1
            else:
                # A token holding a colon is never a keyword itself (presidio keeps only its parts).
                lemmas = [token.lower_ for token in self._nlp.tokenizer(stripped)]
                count = len(self._presidio_keywords([lemma for lemma in lemmas if ":" not in lemma]))
            if len(self._keywords_in_word) > 500_000:
                self._keywords_in_word.clear()
            self._keywords_in_word[word] = count
        return count


class _Overlaps:
    """Whether [start, end) overlaps one of the (start, end, type) spans of a type: a binary search over
    the spans ordered by start, with the furthest end reached so far (spans of a type may overlap)."""

    def __init__(self, spans):
        self._of_type: dict[str, tuple[list[int], list[int]]] = {}
        for span_start, span_end, entity in sorted(spans):
            starts, furthest = self._of_type.setdefault(entity, ([], []))
            starts.append(span_start)
            furthest.append(max(span_end, furthest[-1]) if furthest else span_end)

    def __call__(self, entity: str, start: int, end: int) -> bool:
        starts, furthest = self._of_type.get(entity, ((), ()))
        before_end = bisect.bisect_left(starts, end) - 1  # the last span starting before `end`
        return before_end >= 0 and furthest[before_end] > start
