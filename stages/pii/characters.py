"""Each character's classes at once, so the gates can say where matches can be without a regex scan.

A regular expression scan of a whole text costs about as much whichever class it looks for, and the
prefilter needs several (digits, letters, runs of letters and digits, e-mail tokens, phone runs).
Here a text becomes an array of code points and one table lookup gives every character's classes as
bit flags; the gates are then a few vector operations per text. The table is built once, by running
each class's own regular expression over every code point, so a class means exactly what it means to
the expressions whose matches it bounds.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from phonenumbers.phonenumberutil import _VALID_PUNCTUATION

DIGIT = 1  # \d, to Python's re and to the `regex` module presidio uses (their Unicode versions may differ)
ASCII_DIGIT = 2  # [0-9]
LETTER = 4  # [A-Za-z], and the four non-ASCII letters [A-Z] matches when case is ignored (İ ı ſ K)
HEX = 8  # [0-9A-Fa-f]
SPACE = 16  # \s
PHONE_GAP = 32  # what phonenumbers allows between the digits of a number: its punctuation, and \s
DOT = 64
COLON = 128

DIGIT_CLUSTER_GAP = 32  # wider than every digit gate's width (see `TextClasses.largest_digit_cluster`)

_CLASSES = {
    ASCII_DIGIT: "[0-9]",
    LETTER: "[A-Za-z\u0130\u0131\u017f\u212a]",
    HEX: "[0-9A-Fa-f]",
    SPACE: r"\s",
    PHONE_GAP: f"[{_VALID_PUNCTUATION}\\s]",
    DOT: r"\.",
    COLON: ":",
}


@functools.cache
def flags_table() -> np.ndarray:
    """Per code point, its classes' flags (a fifth of a second, once per process)."""
    import regex

    code_points = "".join(map(chr, range(0x110000)))
    table = np.zeros(0x110000, dtype=np.uint8)
    for flag, pattern in _CLASSES.items():
        table[[m.start() for m in re.finditer(pattern, code_points)]] |= flag
    table[[m.start() for m in re.finditer(r"\d", code_points)]] |= DIGIT
    table[[m.start() for m in regex.finditer(r"\d", code_points)]] |= DIGIT
    return table


class TextClasses:
    """One text's characters as code points and class flags; derived positions are computed once."""

    def __init__(self, text: str):
        self.text = text
        self.codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        self.flags = flags_table()[self.codes]
        self._occurrences: dict[Literal, tuple[np.ndarray, np.ndarray]] = {}

    def has(self, flag: int) -> np.ndarray:
        return (self.flags & flag) != 0

    def positions(self, flag: int) -> np.ndarray:
        """Where the characters of the class are. (numpy finds the non-zero entries of a boolean array
        four times faster than those of the flags' bytes.)"""
        return np.flatnonzero(self.has(flag))

    def occurrences(self, literal: Literal) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the literal's occurrences, found once per text."""
        found = self._occurrences.get(literal)
        if found is None:
            found = self._occurrences[literal] = literal.find(self)
        return found

    @functools.cached_property
    def digit_positions(self) -> np.ndarray:
        return self.positions(DIGIT)

    @functools.cached_property
    def largest_digit_cluster(self) -> int:
        """How many digits the largest cluster holds, digits in a cluster lying less than
        `DIGIT_CLUSTER_GAP` apart: no `width` <= the gap holds more digits (most texts then skip most
        digit gates at the cost of one check)."""
        positions = self.digit_positions
        if len(positions) < 2:
            return len(positions)
        breaks = np.flatnonzero(np.diff(positions) >= DIGIT_CLUSTER_GAP)
        return int(np.diff(breaks, prepend=-1, append=len(positions) - 1).max())

    def word_starts(self) -> list[int]:
        """Where each word separated by spaces (\\s) starts: 0, then each end of a run of spaces."""
        return [0, *self.space_run_ends.tolist()]

    @functools.cached_property
    def space_run_ends(self) -> np.ndarray:
        space = self.has(SPACE)
        return np.flatnonzero(space & ~np.append(space[1:], False)) + 1

    @functools.cached_property
    def space_positions(self) -> np.ndarray:
        return self.positions(SPACE)

    def runs(self, flag: int, shortest: int) -> list[tuple[int, int]]:
        """The maximal runs of characters of the class, at least `shortest` long, as [start, end)."""
        inside = np.concatenate(([False], self.has(flag), [False]))
        edges = np.flatnonzero(inside[1:] != inside[:-1])  # each run's start, then its end
        starts, ends = edges[0::2], edges[1::2]
        long_enough = ends - starts >= shortest
        return list(zip(starts[long_enough].tolist(), ends[long_enough].tolist(), strict=True))

    def tokens_around(self, positions: np.ndarray) -> list[tuple[int, int]]:
        """The maximal runs of non-space characters holding the (non-space) positions, as [start, end)."""
        spaces = np.concatenate(([-1], self.space_positions, [len(self.codes)]))
        before = np.searchsorted(spaces, positions) - 1  # the last space before each position
        return sorted(set(zip((spaces[before] + 1).tolist(), spaces[before + 1].tolist(), strict=True)))

    def phone_stretches(self, lead: int, digits: int = 4) -> list[tuple[int, int]]:
        """Where phonenumbers' candidate runs can be: groups of digits joined by its punctuation and
        spaces only, holding at least `digits` digits, from `lead` characters before the group's first
        digit (no earlier than the previous group's end) to its last digit."""
        positions = self.digit_positions
        if len(positions) < digits:
            return []
        not_gap = np.concatenate(([0], np.cumsum(~self.has(PHONE_GAP | DIGIT))))
        # Consecutive digits belong to one group when nothing but gap characters lies between them.
        joined = not_gap[positions[1:]] - not_gap[positions[:-1] + 1] == 0
        breaks = np.flatnonzero(~joined)
        firsts = np.concatenate(([0], breaks + 1))
        lasts = np.concatenate((breaks, [len(positions) - 1]))
        stretches = []
        previous_end = 0
        for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
            end = int(positions[last]) + 1
            if last - first + 1 >= digits:
                stretches.append((max(previous_end, int(positions[first]) - lead), end))
            previous_end = end
        return stretches


class JoinedTexts:
    """Several texts as one `TextClasses`, so the vector work costs its fixed price once per batch.

    numpy's cost per call (a few µs) outweighs the work on a text of a few kilobytes, and the gates
    make dozens of calls per text. The texts are joined by a separator no structure of the classes
    crosses: spaces at its ends end tokens and words, and between them `gap` NULs (in no class) end
    runs and digit groups and are wider than any gate reaches. Spans found in the joined text, clipped
    to a text and shifted to its offsets, are then exactly the spans found in that text alone (a test
    compares them).
    """

    def __init__(self, texts: Sequence[str], gap: int):
        self.texts = texts
        separator = "\n" + "\x00" * gap + "\n"
        self.classes = TextClasses(separator.join(texts))
        self.starts, self.ends, offset = [], [], 0
        for text in texts:
            self.starts.append(offset)
            self.ends.append(offset + len(text))
            offset += len(text) + len(separator)

    def split(self, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
        """Per text, the non-empty parts of the joined text's spans within it, in its own offsets."""
        per_text: list[list[tuple[int, int]]] = [[] for _ in self.texts]
        for start, end in spans:
            index = max(0, bisect.bisect_right(self.starts, start) - 1)
            while index < len(self.texts) and self.starts[index] < end:
                offset = self.starts[index]
                low, high = max(start, offset), min(end, self.ends[index])
                if low < high:
                    per_text[index].append((low - offset, high - offset))
                index += 1
        return per_text

    def positions_in(self, index: int, positions: np.ndarray) -> np.ndarray:
        """The sorted joined-text positions that fall in text `index`, in its own offsets."""
        low, high = np.searchsorted(positions, (self.starts[index], self.ends[index]))
        return positions[low:high] - self.starts[index]

    def word_starts(self, index: int) -> list[int]:
        """`TextClasses.word_starts` of text `index` alone."""
        start, end = self.starts[index], self.ends[index]
        run_ends = self.classes.space_run_ends
        # Runs ending at the text's edges are the separator's: the one at its end is added back below.
        low, high = np.searchsorted(run_ends, start, side="right"), np.searchsorted(run_ends, end, side="left")
        starts = [0, *(run_ends[low:high] - start).tolist()]
        if end > start and self.classes.flags[end - 1] & SPACE:
            starts.append(end - start)  # alone, the text's last run of spaces ends with it
        return starts


@dataclass(frozen=True)
class Literal:
    """A short stretch every match of a pattern contains: `pattern` is its regular expression (the
    definition), `find` the same occurrences from the class flags (the fast path; a test compares them)."""

    pattern: str
    find: Callable[[TextClasses], tuple[np.ndarray, np.ndarray]]  # the occurrences' starts and ends


def _at_signs(classes: TextClasses):
    starts = np.flatnonzero(classes.codes == ord("@"))
    return starts, starts + 1


def _address_separators(classes: TextClasses):
    """Occurrences of a digit, a dot and a digit (IPv4), or of two colons with at most 4 hex digits
    between them (IPv6: every form has such a pair, "::" or a group between two colons)."""
    flags = classes.flags
    marks = classes.positions(DOT | COLON)  # one pass over the text for both
    is_dot = (flags[marks] & DOT) != 0
    dots, colons = marks[is_dot], marks[~is_dot]
    dots = dots[(dots > 0) & (dots < len(flags) - 1)]
    dotted = dots[((flags[dots - 1] & DIGIT) != 0) & ((flags[dots + 1] & DIGIT) != 0)] - 1
    close = np.flatnonzero(np.diff(colons) <= 5)
    if not len(close):
        return dotted, dotted + 3
    first, second = colons[close], colons[close + 1]
    paired = np.ones(len(close), dtype=bool)
    for offset in range(1, 5):  # each character between the two colons is a hex digit
        inside = first + offset < second
        paired &= ~inside | ((flags[np.minimum(first + offset, len(flags) - 1)] & HEX) != 0)
    starts = np.concatenate((dotted, first[paired]))
    order = np.argsort(starts, kind="stable")
    return starts[order], np.concatenate((dotted + 3, second[paired] + 1))[order]


def _country_and_check_digits(classes: TextClasses):
    """Occurrences of two letters then two digits [0-9], found from the digit pairs."""
    flags = classes.flags
    digits = classes.positions(ASCII_DIGIT)
    pairs = digits[:-1][(digits[1:] - digits[:-1] == 1) & (digits[:-1] >= 2)]
    starts = pairs[((flags[pairs - 1] & LETTER) != 0) & ((flags[pairs - 2] & LETTER) != 0)] - 2
    return starts, starts + 4


def _scheme_separators(classes: TextClasses):
    codes = classes.codes
    starts = np.flatnonzero((codes[:-2] == ord(":")) & (codes[1:-1] == ord("/")) & (codes[2:] == ord("/")))
    return starts, starts + 3


# A literal every match of the type contains, where the patterns give no useful digit count.
LITERALS = {
    "EMAIL_ADDRESS": Literal("@", _at_signs),
    # IPv4 has digit.digit; every IPv6 form has two colons with at most 4 hex digits between them.
    "IP_ADDRESS": Literal(r"\d\.\d|:[0-9A-Fa-f]{0,4}:", _address_separators),
    # Country code and check digits open every IBAN (letters as a case-insensitive [A-Z] matches them).
    "IBAN_CODE": Literal("[A-Za-z\u0130\u0131\u017f\u212a]{2}[0-9]{2}", _country_and_check_digits),
    "URL_CREDENTIALS": Literal("://", _scheme_separators),
}
