"""presidio's findings at a fraction of its cost: find where an entity can be, analyze only there.

presidio tokenizes the whole document with spaCy and runs every recognizer over all of it; its phone
recognizer parses every run of digits once per region. Most of a web page holds no personal data. So:

1. Candidates, per entity type, in a way that cannot miss what presidio would find:
   - pattern recognizers (e-mail, card, IBAN, IP, national IDs) run their own regular expressions and
     checksums over the document, without spaCy, and only where a cheap gate says a match can be:
     a literal every match contains (`@` for e-mail: then the whole text), or, derived from the
     patterns themselves, the stretches around the least number of digits a match holds within its
     greatest width, or the runs of letters and digits at least as long as a match when it can hold
     nothing else;
   - phone numbers: every run of phonenumbers' own candidate characters holding at least 4 digits (no
     valid number in any region is shorter), judged once per distinct run (`stages.pii.phone`).
2. Each candidate is widened to whole words, far enough that presidio's context window (the keywords
   before and after a finding that raise its score) lies inside, and overlapping windows merge.
3. presidio's `AnalyzerEngine.analyze` runs on each window, for the types that had candidates there
   (its phone recognizer reading only the candidate runs, see `CandidatePhoneRecognizer`); findings
   are shifted back to document offsets and kept if they overlap a candidate.

The result equals `analyze` over the whole document (tests assert it on labelled sentences, web text,
the sample corpus and generated text). With a spaCy model named (NER types such as PERSON), the model
must read whole documents, so the whole document goes through presidio as usual.
"""

from __future__ import annotations

import bisect
import re
import re._parser as sre_parse  # the stdlib's regex parser: reads a pattern's digit count and width
from dataclasses import dataclass

import numpy as np
from presidio_analyzer import PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from stages.pii.engine import LANGUAGE
from stages.pii.phone import PHONE_CANDIDATE, CandidatePhoneRecognizer, PhoneVerdicts
from stages.pii.window_nlp import TokenStringsNlpEngine

# A literal every match of the type contains, where the patterns give no useful digit count.
LITERAL_GATES = {
    "EMAIL_ADDRESS": re.compile("@"),
    # IPv4 has digit.digit; every IPv6 form has two colons with only hex digits between them.
    "IP_ADDRESS": re.compile(r"\d\.\d|:[0-9A-Fa-f]*:"),
    # Country code and check digits open every IBAN (presidio matches case-insensitively).
    "IBAN_CODE": re.compile(r"[A-Za-z]{2}[0-9]{2}"),
    "URL_CREDENTIALS": re.compile("://"),
}
_DIGIT = re.compile(r"\d")
_WHITESPACE = re.compile(r"\s+")


class WholeTextGate:
    """No gate could be derived from the patterns: every text is scanned whole."""

    def spans(self, text: str, digit_positions) -> list[tuple[int, int]]:
        return [(0, len(text))]


@dataclass(frozen=True)
class LiteralGate:
    """A match contains `literal` somewhere (no bound on where): the whole text is scanned when it occurs."""

    literal: re.Pattern

    def spans(self, text: str, digit_positions) -> list[tuple[int, int]]:
        return [(0, len(text))] if self.literal.search(text) else []


@dataclass(frozen=True)
class DigitGate:
    """A match holds at least `digits` digits within `width` characters (None: no width bound)."""

    digits: int
    width: int | None

    def spans(self, text: str, digit_positions: np.ndarray) -> list[tuple[int, int]]:
        """The merged stretches of text every match lies in: around `digits` digits within `width`."""
        if len(digit_positions) < self.digits:
            return []
        if self.width is None:
            return [(0, len(text))]
        span = self.digits - 1
        first = digit_positions[: len(digit_positions) - span]
        last = digit_positions[span:]
        dense = np.nonzero(last - first < self.width)[0]
        if not len(dense):
            return []
        # A match [s, e) holding digits first..last has e - s <= width, so last - width < s and e <= first + width.
        return _merged(np.maximum(last[dense] - self.width + 1, 0), np.minimum(first[dense] + self.width, len(text)))

    @classmethod
    def of(cls, recognizer: PatternRecognizer) -> DigitGate | None:
        """The gate implied by every pattern of the recognizer, or None when a pattern needs no digit."""
        patterns = _parsed_patterns(recognizer)
        if not patterns:
            return None
        gates = []
        for parsed in patterns:
            high = parsed.getwidth()[1]
            gates.append((_min_digits(parsed), None if high >= sre_parse.MAXREPEAT else high))
        digits = min(g[0] for g in gates)
        if digits == 0:
            return None
        widths = [g[1] for g in gates]
        return cls(digits, None if None in widths else max(widths))


@dataclass(frozen=True)
class AlphanumericRunGate:
    """A match is a run of at least `length` ASCII letters and digits (no other character can occur).

    Case-insensitive matching also lets [A-Z] match four non-ASCII letters (İ ı ſ K), so the run
    admits them too."""

    length: int

    def __post_init__(self):
        object.__setattr__(self, "_run", re.compile(f"[A-Za-z0-9\u0130\u0131\u017f\u212a]{{{self.length},}}"))

    def spans(self, text: str, digit_positions) -> list[tuple[int, int]]:
        """The runs of letters and digits at least `length` long: a match is inside one."""
        return [m.span() for m in self._run.finditer(text)]

    @classmethod
    def of(cls, recognizer: PatternRecognizer) -> AlphanumericRunGate | None:
        patterns = _parsed_patterns(recognizer)
        if not patterns or not all(_only_alphanumerics(parsed) for parsed in patterns):
            return None
        length = min(parsed.getwidth()[0] for parsed in patterns)
        return cls(length) if length > 1 else None


def _merged(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Overlapping or touching [start, end) stretches merged; both arrays ascend."""
    merged = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _lookahead_reach(parsed) -> int | None:
    """How many characters past the position it is at the pattern may read without consuming them
    (lookaheads, \\b, $); None when unbounded. A scan of a stretch may stop that far past its end."""
    reach = 0
    for op, argument in parsed:
        name = str(op)
        if name == "AT":
            reach = max(reach, 1)
        elif name in ("ASSERT", "ASSERT_NOT"):
            direction, inner = argument
            inner_reach = _lookahead_reach(inner)
            if inner_reach is None:
                return None
            if direction == 1:
                high = inner.getwidth()[1]
                if high >= sre_parse.MAXREPEAT:
                    return None
                reach = max(reach, high + inner_reach)
            else:
                reach = max(reach, inner_reach)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT", "SUBPATTERN", "ATOMIC_GROUP", "BRANCH"):
            if name == "BRANCH":
                children = argument[1]
            elif name == "ATOMIC_GROUP":
                children = [argument]
            else:
                children = [argument[-1]]
            for child in children:
                child_reach = _lookahead_reach(child)
                if child_reach is None:
                    return None
                reach = max(reach, child_reach)
        elif name in ("GROUPREF_EXISTS", "GROUPREF", "GROUPREF_IGNORE"):
            return None  # not used by presidio's patterns: no bound claimed
    return reach


def _pattern_reach(regex: str, flags: int) -> int | None:
    try:
        return _lookahead_reach(sre_parse.parse(regex, flags))
    except (re.error, TypeError, ValueError):
        return None


def _parsed_patterns(recognizer: PatternRecognizer) -> list | None:
    """The recognizer's patterns as the stdlib parses them; None if one uses `regex`-only syntax (then
    no gate is derived and the recognizer always runs)."""
    try:
        return [sre_parse.parse(p.regex, recognizer.global_regex_flags) for p in recognizer.patterns]
    except (re.error, TypeError, ValueError):
        return None


def _only_alphanumerics(parsed) -> bool:
    """Whether every character the pattern can consume is an ASCII letter or digit."""
    for op, argument in parsed:
        name = str(op)
        if name == "LITERAL":
            if not (chr(argument).isascii() and chr(argument).isalnum()):
                return False
        elif name == "IN":
            for item_op, item in argument:
                item_name = str(item_op)
                if item_name == "RANGE":
                    low, high = chr(item[0]), chr(item[1])
                    if not any(a <= low and high <= b for a, b in (("0", "9"), ("A", "Z"), ("a", "z"))):
                        return False
                elif item_name == "LITERAL":
                    if not (chr(item).isascii() and chr(item).isalnum()):
                        return False
                elif not (item_name == "CATEGORY" and str(item) == "CATEGORY_DIGIT"):
                    return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if not _only_alphanumerics(argument[2]):
                return False
        elif name == "SUBPATTERN":
            if not _only_alphanumerics(argument[-1]):
                return False
        elif name == "BRANCH":
            if not all(_only_alphanumerics(branch) for branch in argument[1]):
                return False
        elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
            return False  # ANY, NOT_LITERAL, GROUPREF, CATEGORY outside a class...: not provably alphanumeric
    return True


def _min_digits(parsed) -> int:
    """The fewest characters a match of the parsed pattern must take from a digits-only class."""
    total = 0
    for op, argument in parsed:
        name = str(op)
        if name == "LITERAL":
            total += chr(argument).isdigit()
        elif name == "IN":
            total += _digits_only_class(argument)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, item = argument
            total += low * _min_digits(item)
        elif name == "SUBPATTERN":
            total += _min_digits(argument[-1])
        elif name == "ATOMIC_GROUP":
            total += _min_digits(argument)
        elif name == "BRANCH":
            total += min(_min_digits(branch) for branch in argument[1])
        # AT, ASSERT, ASSERT_NOT, ANY, NOT_LITERAL, GROUPREF...: no digit required
    return total


def _digits_only_class(items) -> bool:
    for op, argument in items:
        name = str(op)
        if name == "NEGATE":
            return False
        if name == "RANGE" and not (ord("0") <= argument[0] and argument[1] <= ord("9")):
            return False
        if name == "LITERAL" and not chr(argument).isdigit():
            return False
        if name == "CATEGORY" and str(argument) != "CATEGORY_DIGIT":
            return False
    return True


def _compiled(pattern, flags: int):
    """The pattern compiled as presidio compiles it (the `regex` module, the recognizer's flags)."""
    if pattern.compiled_regex is None or pattern.compiled_with_flags != flags:
        import regex

        pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
        pattern.compiled_with_flags = flags
    return pattern.compiled_regex


def _window_analyzer(analyzer, old, new):
    """The analyzer's twin for windows: `new` recognizer in place of `old`, token strings for spaCy Tokens."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    recognizers = [new if r is old else r for r in analyzer.registry.recognizers]
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=TokenStringsNlpEngine.replacing(analyzer.nlp_engine),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=analyzer.context_aware_enhancer,
    )


class WindowedAnalyzer:
    """`analyze(text)` returns what `AnalyzerEngine.analyze(text, ...)` returns, analyzing only windows.

    Reads nothing but the text; `windows_analyzed` and `characters_analyzed` count the work done.
    """

    def __init__(self, analyzer, entities: list[str], score_threshold: float, whole_documents: bool = False):
        self.analyzer = analyzer
        self.entities = list(entities)
        self.score_threshold = score_threshold
        recognizers = analyzer.registry.get_recognizers(language=LANGUAGE, entities=self.entities)
        self.pattern_recognizers = []
        for recognizer in recognizers:
            if not isinstance(recognizer, PatternRecognizer):
                continue
            entity = recognizer.supported_entities[0]
            literal = LITERAL_GATES.get(entity)
            gate = (
                (LiteralGate(literal) if literal else None)
                or DigitGate.of(recognizer)
                or AlphanumericRunGate.of(recognizer)
                or WholeTextGate()
            )
            flags = recognizer.global_regex_flags
            patterns = [(_compiled(p, flags), _pattern_reach(p.regex, flags)) for p in recognizer.patterns]
            self.pattern_recognizers.append((entity, gate, patterns))
        phone = next((r for r in recognizers if isinstance(r, PhoneRecognizer)), None)
        self.phone_verdicts = PhoneVerdicts(phone) if phone is not None else None
        swapped = CandidatePhoneRecognizer(phone, self.phone_verdicts) if phone is not None else None
        self._window_analyzer = _window_analyzer(analyzer, phone, swapped)
        others = [r for r in recognizers if not isinstance(r, PatternRecognizer | PhoneRecognizer)]
        # Without a tokenizer-only pipeline, context and NER need the whole document.
        self.whole_documents = whole_documents or bool(others)
        enhancer = analyzer.context_aware_enhancer
        self.keywords_before = enhancer.context_prefix_count + 2
        self.keywords_after = enhancer.context_suffix_count + 2
        self._nlp = analyzer.nlp_engine.nlp[LANGUAGE]
        self._keywords_in_word: dict[str, int] = {}
        self.windows_analyzed = 0
        self.characters_analyzed = 0

    def whole(self, text: str) -> list[RecognizerResult]:
        """presidio over the whole document: what the windows must reproduce."""
        return self.analyzer.analyze(
            text, language=LANGUAGE, entities=self.entities, score_threshold=self.score_threshold
        )

    def analyze(self, text: str) -> list[RecognizerResult]:
        if self.whole_documents:
            self.windows_analyzed += 1
            self.characters_analyzed += len(text)
            return self.whole(text)
        candidates = self._candidates(text)
        if not candidates:
            return []
        results = []
        for start, end, entities, spans in self._windows(text, candidates):
            self.windows_analyzed += 1
            self.characters_analyzed += end - start
            found = self._window_analyzer.analyze(
                text[start:end], language=LANGUAGE, entities=sorted(entities), score_threshold=self.score_threshold
            )
            for result in found:
                result.start += start
                result.end += start
                if any(result.start < span_end and span_start < result.end for span_start, span_end in spans):
                    results.append(result)
        return results

    def _candidates(self, text: str) -> list[tuple[int, int, str]]:
        candidates = self._candidates_of_patterns(text)
        if self.phone_verdicts is not None:
            for match in PHONE_CANDIDATE.finditer(text):
                if self.phone_verdicts(match.group()):
                    candidates.append((match.start(), match.end(), "PHONE_NUMBER"))
        return candidates

    def _candidates_of_patterns(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, type) of every match of every pattern, as a scan of the whole text finds them.

        Each pattern scans only the stretches its gate says every match lies in. No match crosses a
        stretch's edges, so the scan there pairs characters as the whole scan would; and it may stop
        `reach` characters past the stretch, where its lookaheads read their last character."""
        candidates = []
        digit_positions = None
        length = len(text)
        for entity, gate, patterns in self.pattern_recognizers:
            if digit_positions is None and isinstance(gate, DigitGate):
                digit_positions = np.fromiter((m.start() for m in _DIGIT.finditer(text)), dtype=np.int64)
            stretches = gate.spans(text, digit_positions)
            for compiled, reach in patterns:
                for start, end in stretches:
                    stop = length if reach is None else min(length, end + reach)
                    for match in compiled.finditer(text, start, stop):
                        if match.start() >= end:
                            break
                        if match.end() > match.start():
                            candidates.append((match.start(), match.end(), entity))
        return candidates

    def _windows(self, text: str, candidates):
        """Merged (start, end, entity types, candidate spans) windows of whole words around candidates.

        A window never cuts a candidate: regular expressions scan left to right without overlaps, so a
        window starting inside a run of matches (a table of numbers) would pair the digits differently.
        Every candidate lies inside its own window, and overlapping windows merge, so no merged window's
        edge can fall inside a candidate.
        """
        word_starts = [0] + [m.end() for m in _WHITESPACE.finditer(text)]
        own = sorted(
            (
                self._widen_backward(text, word_starts, start),
                self._widen_forward(text, word_starts, end),
                entity,
                start,
                end,
            )
            for start, end, entity in candidates
        )
        windows = []
        for window_start, window_end, entity, start, end in own:
            if windows and window_start <= windows[-1][1]:
                last = windows[-1]
                last[1] = max(last[1], window_end)
                last[2].add(entity)
                last[3].append((start, end))
            else:
                windows.append([window_start, window_end, {entity}, [(start, end)]])
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

    def _keywords(self, word: str) -> int:
        """How many of presidio's context keywords (non-stop, non-punctuation lemmas) a word yields."""
        count = self._keywords_in_word.get(word)
        if count is None:
            vocab = self._nlp.vocab
            count = sum(
                1
                for token in self._nlp.tokenizer(word.strip())
                if ":" not in token.lower_ and not vocab[token.lower_].is_stop and not vocab[token.lower_].is_punct
            )
            if len(self._keywords_in_word) > 500_000:
                self._keywords_in_word.clear()
            self._keywords_in_word[word] = count
        return count
