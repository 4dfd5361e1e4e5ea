"""Gates: where in a text a pattern's matches can be, derived from the pattern itself.

A recognizer's regular expressions need only scan the stretches its gate returns: every match lies
inside one (see `WindowedAnalyzer._candidates_of_patterns` for why scanning only there finds what a
whole scan finds). Each gate reads the text's character classes (`stages.pii.characters`), not the
text, and is derived per pattern from its parse by Python's regex parser:

- `LiteralGate`: the match contains a known literal (an `@`, digit-dot-digit...); around each
  occurrence, as far as the pattern's greatest width, or the non-space token holding it when the
  pattern has no greatest width but consumes no space;
- `DigitGate`: the match holds at least N digits within its greatest width W;
- `AlphanumericRunGate`: the match is a run of letters and digits at least L long;
- `WholeTextGate`: nothing could be derived; the whole text is scanned.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's regex parser (private: Python pinned <3.12 in pyproject.toml)
from dataclasses import dataclass

import numpy as np

from stages.pii.characters import (
    ASCII_DIGIT,
    DIGIT_CLUSTER_GAP,
    LETTER,
    LITERALS,
    SPACE,
    Literal,
    TextClasses,
    flags_table,
)


@dataclass(frozen=True)
class WholeTextGate:
    """No gate could be derived from the pattern: every text is scanned whole."""

    def spans(self, classes: TextClasses) -> list[tuple[int, int]]:
        return [(0, len(classes.codes))]


@dataclass(frozen=True)
class LiteralGate:
    """A match contains an occurrence of `literal` and is at most `width` long (None: no bound). With
    no width, `within_token` says the match consumes no space, so it lies in the token holding the
    occurrence; otherwise the whole text is scanned when the literal occurs."""

    literal: Literal
    width: int | None
    within_token: bool = False

    def spans(self, classes: TextClasses) -> list[tuple[int, int]]:
        starts, ends = classes.occurrences(self.literal)
        if not len(starts):
            return []
        length = len(classes.codes)
        if self.width is not None:
            # A match [s, e) holding the occurrence [a, b) has s <= a, b <= e and e - s <= width.
            return _merged(np.maximum(ends - self.width, 0), np.minimum(starts + self.width, length))
        if self.within_token:
            return classes.tokens_around(starts)
        return [(0, length)]


@dataclass(frozen=True)
class DigitGate:
    """A match holds at least `digits` digits within `width` characters (None: no width bound)."""

    digits: int
    width: int | None

    def spans(self, classes: TextClasses) -> list[tuple[int, int]]:
        """The merged stretches of text every match lies in: around `digits` digits within `width`."""
        digit_positions = classes.digit_positions
        if len(digit_positions) < self.digits:
            return []
        if self.width is None:
            return [(0, len(classes.codes))]
        if self.width <= DIGIT_CLUSTER_GAP and classes.largest_digit_cluster < self.digits:
            return []
        span = self.digits - 1
        first = digit_positions[: len(digit_positions) - span]
        last = digit_positions[span:]
        dense = np.nonzero(last - first < self.width)[0]
        if not len(dense):
            return []
        # A match [s, e) holding digits first..last has e - s <= width, so last - width < s and e <= first + width.
        return _merged(
            np.maximum(last[dense] - self.width + 1, 0), np.minimum(first[dense] + self.width, len(classes.codes))
        )

    @classmethod
    def of(cls, parsed) -> DigitGate | None:
        """The gate implied by the parsed pattern, or None when a match needs no digit."""
        digits = _min_digits(parsed)
        if digits == 0:
            return None
        high = parsed.getwidth()[1]
        return cls(digits, None if high >= sre_parse.MAXREPEAT else high)


@dataclass(frozen=True)
class AlphanumericRunGate:
    """A match is a run of at least `length` ASCII letters and digits (no other character can occur).

    Case-insensitive matching also lets [A-Z] match four non-ASCII letters (İ ı ſ K), so the run
    admits them too."""

    length: int

    def spans(self, classes: TextClasses) -> list[tuple[int, int]]:
        """The runs of letters and digits at least `length` long: a match is inside one."""
        return classes.runs(LETTER | ASCII_DIGIT, self.length)

    @classmethod
    def of(cls, parsed) -> AlphanumericRunGate | None:
        if not _only_alphanumerics(parsed):
            return None
        length = parsed.getwidth()[0]
        return cls(length) if length > 1 else None


def gate_for(entity: str, regex: str, flags: int):
    """The narrowest gate derivable for one pattern of a recognizer of `entity`."""
    try:
        parsed = sre_parse.parse(regex, flags)
    except (re.error, TypeError, ValueError):
        return WholeTextGate()  # `regex`-only syntax: nothing derived, the pattern always runs
    high = parsed.getwidth()[1]
    width = None if high >= sre_parse.MAXREPEAT else high
    literal = LITERALS.get(entity)
    if literal is not None:
        return LiteralGate(literal, width, width is None and _consumes_no_space(parsed))
    return DigitGate.of(parsed) or AlphanumericRunGate.of(parsed) or WholeTextGate()


def covering(gates: list) -> list:
    """The gates with the digit gates asking for as many digits replaced by one covering them (the
    greatest width), and the width-bounded literal gates of one literal by one (the greatest width).

    A covering gate's stretches hold every stretch of the gates it replaces, so each match still lies
    in one. Why coarser: a gate costs a dozen numpy calls per text whatever its size, and on texts of a
    few kilobytes those fixed costs exceed what the regexes spend scanning slightly wider stretches."""
    widest: dict[tuple, int | None] = {}
    for gate in gates:
        if isinstance(gate, DigitGate | LiteralGate) and gate.width is not None:
            key = (type(gate), gate.digits if isinstance(gate, DigitGate) else gate.literal)
            widest[key] = max(widest.get(key, 0), gate.width)
    covered = []
    for gate in gates:
        if isinstance(gate, DigitGate) and gate.width is not None:
            gate = DigitGate(gate.digits, widest[(DigitGate, gate.digits)])
        elif isinstance(gate, LiteralGate) and gate.width is not None:
            gate = LiteralGate(gate.literal, widest[(LiteralGate, gate.literal)])
        covered.append(gate)
    return covered


def pattern_reach(regex: str, flags: int) -> int | None:
    """How many characters past a match's end its lookaheads may read (None: unbounded)."""
    try:
        return _lookahead_reach(sre_parse.parse(regex, flags))
    except (re.error, TypeError, ValueError):
        return None


def _consumes_no_space(parsed) -> bool:
    """Whether no character the pattern can consume is a space (\\s)."""
    spaces = np.flatnonzero(flags_table() & SPACE)

    def non_space(kind: str, value) -> bool:
        if kind == "LITERAL":
            return value not in spaces
        if kind == "RANGE":
            return not ((value[0] <= spaces) & (spaces <= value[1])).any()
        return kind == "CATEGORY" and str(value) in ("CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_SPACE")

    return _consumes_only(parsed, non_space)


def _only_alphanumerics(parsed) -> bool:
    """Whether every character the pattern can consume is an ASCII letter or digit."""

    def alphanumeric(kind: str, value) -> bool:
        if kind == "LITERAL":
            return chr(value).isascii() and chr(value).isalnum()
        if kind == "RANGE":
            low, high = chr(value[0]), chr(value[1])
            return any(a <= low and high <= b for a, b in (("0", "9"), ("A", "Z"), ("a", "z")))
        return kind == "CATEGORY" and str(value) == "CATEGORY_DIGIT"

    return _consumes_only(parsed, alphanumeric)


def _consumes_only(parsed, allowed) -> bool:
    """Whether `allowed(kind, value)` holds for every character (LITERAL) or class member (LITERAL,
    RANGE, CATEGORY, NEGATE) the pattern can consume."""
    for op, argument in parsed:
        name = str(op)
        if name == "LITERAL":
            if not allowed(name, argument):
                return False
        elif name == "IN":
            if not all(allowed(str(item_op), item) for item_op, item in argument):
                return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if not _consumes_only(argument[2], allowed):
                return False
        elif name == "SUBPATTERN":
            if not _consumes_only(argument[-1], allowed):
                return False
        elif name == "ATOMIC_GROUP":
            if not _consumes_only(argument, allowed):
                return False
        elif name == "BRANCH":
            if not all(_consumes_only(branch, allowed) for branch in argument[1]):
                return False
        elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
            return False  # ANY, NOT_LITERAL, CATEGORY outside a class, GROUPREF...: not provably allowed
    return True


def _merged(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Overlapping or touching [start, end) stretches merged; both arrays ascend."""
    if not len(starts):
        return []
    reach = np.maximum.accumulate(ends)
    gaps = np.flatnonzero(starts[1:] > reach[:-1])  # a stretch starting past every earlier end opens a group
    group_starts = starts[np.concatenate(([0], gaps + 1))]
    group_ends = reach[np.concatenate((gaps, [len(ends) - 1]))]
    return list(zip(group_starts.tolist(), group_ends.tolist(), strict=True))


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
        elif name == "GROUPREF_EXISTS":  # (?(group)yes|no): either branch may follow
            for branch in argument[1:]:
                branch_reach = _lookahead_reach(branch) if branch is not None else 0
                if branch_reach is None:
                    return None
                reach = max(reach, branch_reach)
        # GROUPREF (\1, CA_SIN's separators) consumes what its group matched: nothing read past the match
    return reach


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
