"""Phone numbers at a fraction of presidio's cost, with presidio's findings.

presidio's PhoneRecognizer runs phonenumbers' matcher over the whole text once per region (18 by
default), parsing every run of digits (years, prices, table cells) 18 times. Here:

- `PHONE_CANDIDATE` finds the runs the matcher can read a number from;
- `PhoneVerdicts` says, per distinct run, which regions' matchers find a number in it, and remembers it.
  The matcher's search lists the strings it would parse; a region none of whose strings can read as one
  of its numbers by phonenumbers' own metadata (`RegionMetadataBound`) is ruled out unparsed, and the
  others' matchers skip the parses the bound rules out (`BoundedPhoneNumberMatcher`);
- `CandidatePhoneRecognizer` is presidio's recognizer reading only the candidate runs, per region that
  found something in them;
- `ChainedNumbers`: runs opening inside the previous number's extension, read whole with it.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from typing import NamedTuple

import numpy as np
from phonenumbers import PhoneNumberMatcher
from phonenumbers.phonenumberutil import _EXTN_PATTERNS_FOR_MATCHING, _PLUS_CHARS, _VALID_PUNCTUATION
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

# phonenumbers' matcher reads candidates made of these characters (its _PATTERN); no valid number in any
# region has fewer than 4 digits (the shortest national numbers, e.g. Austria's, have 4).
_LEAD = "[" + _PLUS_CHARS + r"(\[（［]"
_PUNCT = "[" + _VALID_PUNCTUATION + "]"
PHONE_CANDIDATE = re.compile(f"(?:{_LEAD}{_PUNCT}{{0,4}}){{0,2}}\\d(?:[{_VALID_PUNCTUATION}\\s]*\\d){{3,}}")
# A candidate starts at most twice (a lead character and 4 punctuation) before its first digit.
PHONE_CANDIDATE_LEAD = 10
# phonenumbers' longest extension: separators, a word such as "extension", separators, up to 20 digits.
_EXTENSION_CHARS = 64
# What the matcher reads after a number's last digit as its extension (its own expression and flags).
_EXTENSION = re.compile(f"(?:{_EXTN_PATTERNS_FOR_MATCHING})", re.UNICODE | re.IGNORECASE)
# A character a candidate of the matcher can hold before its extension (its _PATTERN), or a space.
_NUMBER_CHARACTER = re.compile(f"[{_VALID_PUNCTUATION}{_PLUS_CHARS}(\\[（［\\s\\d]")


class RegionMetadataBound:
    """Rules out the parses that cannot yield a number of a region, from phonenumbers' metadata alone.

    Why by hand: phonenumbers answers only by parsing, about 60 µs per string and region; this reads the
    same metadata in a few µs per string for all regions, and is a necessary condition, never a verdict:
    a string it keeps is still parsed. The matcher's own search decides which strings are parsed
    (`_strings_parsed`); for each, the reasoning from phonenumbers' code (leniency VALID and stricter):

    - a match is a valid number, so its national significant number (NSN) has a length in the
      `possible_length` of a region sharing the country code and matches one of that region's number
      types (fixed line, mobile, toll free...) at a length the type allows (`_number_type_helper`);
    - a number read in the region's own country code (no `+`, no international prefix) is the string's
      digits less a leading country code and a national prefix (parse may strip it twice, or rewrite it
      by the region's transform rule), and less an extension cut off the end, which begins after a
      block of digits ends;
    - where the format phonenumbers chooses for that number is written with a national prefix (most of
      Europe's), the string's digits must begin with it (`_is_national_prefix_present_if_required`);
    - a string with `+` can hold any country's number: always kept; one after the region's international
      prefix opens with it, then a digit other than 0 (`_parse_prefix_as_idd`), then at least as many
      digits as the shortest country code and national number of any country;
    - three Latin letters make a vanity number (letters become digits): always kept.
    """

    def __init__(self, regions, leniency: int):
        from phonenumbers import Leniency, PhoneMetadata
        from phonenumbers.phonenumberutil import (
            COUNTRY_CODE_TO_REGION_CODE,
            REGION_CODE_FOR_NON_GEO_ENTITY,
            region_code_for_country_code,
        )

        self.leniency = leniency
        self.bounded = int(leniency) >= int(Leniency.VALID)
        self._idd = {}
        self._country = {}
        transform, national_prefix = {}, {}  # per region: what parse strips, and how it rewrites it
        prefix_required, written_prefix = {}, {}  # per country code (see `_NationalReading`)
        national_patterns: dict[int, dict[int, list[str]]] = {}
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region, None)
            if metadata is None:
                continue  # no metadata to bound by: `possible` keeps the region
            transform[region] = metadata.national_prefix_transform_rule
            # Any alternative of the prefix, where phonenumbers takes the first that matches: a superset.
            international = metadata.international_prefix or "NonMatch"
            self._idd[region] = re.compile(f"(?:{international})[1-9]\\d{{{_shortest_international_number() - 1}}}")
            code = metadata.country_code
            self._country[region] = code
            national_prefix[region] = _compiled_or_none(metadata.national_prefix_for_parsing)
            if code in national_patterns:
                continue
            main = PhoneMetadata.metadata_for_region(region_code_for_country_code(code), None)
            prefix_required[code] = _PrefixRequirement(main.number_format if main else ())
            written_prefix[code] = _compiled_or_none(main.national_prefix_for_parsing if main else None)
            by_length = national_patterns[code] = {}
            for sharing in COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
                if sharing == REGION_CODE_FOR_NON_GEO_ENTITY:
                    continue
                for length, pattern in _valid_number_patterns(PhoneMetadata.metadata_for_region(sharing, None)):
                    by_length.setdefault(length, []).append(pattern)
        national = {
            code: {length: re.compile("|".join(f"(?:{p})" for p in patterns)) for length, patterns in lengths.items()}
            for code, lengths in national_patterns.items()
        }
        self._readings = {
            region: _NationalReading(
                str(code),
                national_prefix[region],
                transform[region],
                # the digit counts a string can have and still read as one of the region's numbers
                _readable_counts(PhoneMetadata.metadata_for_region(region, None), national[code]),
                national[code],
                prefix_required[code],
                written_prefix[code],
            )
            for region, code in self._country.items()
        }
        self._any_idd = re.compile("|".join(f"(?:{idd.pattern})" for idd in self._idd.values()) or "(?!)")
        # Regions whose national prefix is rewritten: their national numbers are not the string's last digits.
        self._rewriting = tuple(region for region, rule in transform.items() if rule)
        # Any country's national number at one of its lengths, after any leading digits (a country code, a
        # national prefix): what every other region's national reading needs, in one expression.
        by_length: dict[int, list[str]] = {}
        for region, code in self._country.items():
            if region not in self._rewriting:
                for length, pattern in national[code].items():
                    by_length.setdefault(length, []).append(f"(?:{pattern.pattern})")
        lengths = [f"(?=\\d{{{n}}}\\Z)(?:{'|'.join(dict.fromkeys(p))})" for n, p in sorted(by_length.items())]
        self._any_national = re.compile(f"\\d*?(?:{'|'.join(lengths)})" if lengths else "(?!)")
        self._regions_parsing: dict[str, frozenset[str]] = {}
        self._unbounded = frozenset(region for region in regions if region not in self._country)
        self._all = frozenset(regions)

    def possible(self, run: str, regions) -> tuple[str, ...]:
        """The regions of `regions` whose matcher might find a number in `run` (all, when unsure).

        The matcher's own search, with every parse failing, lists the strings it would parse; a region
        whose matcher finds a number parses one of them successfully first, so it is among those strings'
        `regions_parsing`."""
        return self.possible_parsing([string for string, _ in _strings_parsed(f" {run} ", self.leniency)], regions)

    def possible_parsing(self, strings: list[str], regions) -> tuple[str, ...]:
        """The regions of `regions` that might parse one of `strings` as a valid number (all, when unsure)."""
        if not self.bounded:
            return tuple(regions)
        found = set()
        for string in strings:
            found |= self.regions_parsing(string)
        return tuple(region for region in regions if region in found or region not in self._all)

    def parsable(self, region: str, string: str) -> bool:
        """Whether phonenumbers might parse `string` as a valid number in `region` (True when unsure)."""
        return not self.bounded or region not in self._all or region in self.regions_parsing(string)

    def regions_parsing(self, string: str) -> frozenset[str]:
        """The bound's regions in which phonenumbers might parse `string` as a valid number."""
        regions = self._regions_parsing.get(string)
        if regions is None:
            regions = self._read(string)
            if len(self._regions_parsing) > 100_000:
                self._regions_parsing.clear()
            self._regions_parsing[string] = regions
        return regions

    def _read(self, string: str) -> frozenset[str]:
        digits, ends = _digits_and_block_ends(string)
        if ends is None:
            return self._all  # any country's number, or a vanity number whose letters become digits
        counts = 0
        for end in ends:
            counts |= 1 << end
        found = set(self._unbounded)
        if self._any_idd.match(digits):
            found.update(region for region, idd in self._idd.items() if idd.match(digits))
        if any(self._any_national.fullmatch(digits, 0, end) for end in ends):
            national = self._readings
        else:
            national = self._rewriting  # their numbers are not checked by `_any_national`
        readings = self._readings
        for region in national:
            reading = readings[region]
            if reading.readable & counts and region not in found and reading.holds(digits, ends):
                found.add(region)
        return frozenset(found)


class _NationalReading:
    """How parse reads a string's digits as a national number of one region: whether, up to the end of
    one of its blocks (the rest may be an extension), they read as a valid number of the region's country
    code, written with its national prefix where the country's format requires one (the matcher's
    `_is_national_prefix_present_if_required`). `readable`: the digit counts that can (a bit mask)."""

    __slots__ = ("code", "strip", "transform", "readable", "national", "prefix_required", "written_prefix")

    def __init__(self, code, strip, transform, readable, national, prefix_required, written_prefix):
        self.code = code  # the country code's digits
        self.strip = strip  # national_prefix_for_parsing: what parse strips
        self.transform = transform
        self.readable = readable
        self.national = national  # per length, the valid national numbers' patterns
        self.prefix_required = prefix_required
        self.written_prefix = written_prefix  # the main region's national prefix, as the matcher reads it

    def holds(self, digits: str, ends: list[int]) -> bool:
        national, code = self.national, self.code
        written = None
        for end in ends:
            if not self.readable >> end & 1:
                continue
            number = digits[:end]
            if number.startswith(code):  # the country code written without +: no prefix needed
                for nsn in self._stripped(number[len(code) :]):
                    pattern = national.get(len(nsn))
                    if pattern is not None and pattern.fullmatch(nsn):
                        return True
            for nsn in self._stripped(number):
                pattern = national.get(len(nsn))
                if pattern is not None and pattern.fullmatch(nsn):
                    if written is None:  # the raw digits open with the national prefix
                        written = self.written_prefix is not None and self.written_prefix.match(digits) is not None
                    if written or not self.prefix_required(nsn):
                        return True
        return False

    def _stripped(self, number: str) -> list[str]:
        """The number, and the number with its national prefix stripped (or rewritten by the region's
        transform rule) once and twice, as parse may do both when reading the country code and after
        (`_maybe_strip_national_prefix_carrier_code`): the national numbers parse can read from it."""
        found = [number]
        if self.strip is None:
            return found
        for _ in range(2):
            match = self.strip.match(number)
            if match is None or not match.end():
                break
            if self.transform and match.groups() and match.groups()[-1] is not None:
                number = match.expand(self.transform) + number[match.end() :]
            else:
                number = number[match.end() :]
            found.append(number)
        return found


class _PrefixRequirement:
    """Whether phonenumbers writes a country's national number with its national prefix: the format it
    chooses for the number (`_choose_formatting_pattern_for_number`: the first whose leading digits match
    its start and whose pattern matches it whole) has a prefix rule that is neither optional nor only the
    first group. Why by hand: one regular expression tries the formats in order, where phonenumbers
    makes a Python call per format and number."""

    def __init__(self, formats):
        # private: phonenumbers is pinned to the tested release in pyproject.toml, and the findings digest
        # test (tests/test_pii.py) fails if its behaviour changes
        from phonenumbers.phonenumberutil import _formatting_rule_has_first_group_only

        alternatives, self._required = [], {}
        for index, number_format in enumerate(formats):
            leading = number_format.leading_digits_pattern
            lookahead = f"(?={leading[-1]})" if leading else ""
            alternatives.append(f"(?P<f{index}>{lookahead}(?:{number_format.pattern})\\Z)")
            rule = number_format.national_prefix_formatting_rule
            self._required[f"f{index}"] = bool(
                rule
                and not number_format.national_prefix_optional_when_formatting
                and not _formatting_rule_has_first_group_only(rule)
            )
        self._formats = re.compile("|".join(alternatives) or "(?!)")

    def __call__(self, national_number: str) -> bool:
        chosen = self._formats.match(national_number)  # the outer group closes last: `lastgroup` is the format
        return chosen is not None and self._required[chosen.lastgroup]


@functools.lru_cache(maxsize=65_536)
def _digits_and_block_ends(string: str) -> tuple[str, list[int] | None]:
    """The string's digits as parse reads them, and where each block of digits ends among them; None for
    the ends when a region cannot be ruled out (a `+`: any country; three Latin letters: a vanity number)."""
    from phonenumbers import normalize_digits_only

    if any(c in _PLUS_CHARS for c in string) or len(_LATIN_LETTER.findall(string)) >= 3:
        return "", None
    blocks = _DIGIT_BLOCK.findall(string)
    if string.isascii():
        lengths = [len(block) for block in blocks]
        digits = "".join(blocks)
    else:  # other scripts' digits: phonenumbers normalizes them to ASCII
        lengths = [len(normalize_digits_only(block)) for block in blocks]
        digits = normalize_digits_only(string)
    return digits, list(itertools.accumulate(lengths))


def _readable_counts(metadata, national_lengths) -> int:
    """A bit mask: bit n set when a string of n digits can read as a national number of a length the
    country's numbers have (parse removes the country code and at most twice the national prefix's
    greatest width). All bits set where the prefix has no greatest width or a transform rule rewrites it."""
    import re._parser as sre_parse  # the stdlib's regex parser (private: Python pinned <3.12 in pyproject)

    prefix = metadata.national_prefix_for_parsing
    if metadata.national_prefix_transform_rule:
        return -1
    width = sre_parse.parse(prefix).getwidth()[1] if prefix else 0
    if width >= sre_parse.MAXREPEAT:
        return -1
    removable = len(str(metadata.country_code)) + 2 * width
    longest = max(national_lengths, default=0) + removable
    return sum(
        1 << count
        for count in range(longest + 1)
        if any(count - removable <= length <= count for length in national_lengths)
    )


def _compiled_or_none(pattern: str | None):
    return re.compile(pattern) if pattern else None


_LATIN_LETTER = re.compile("[A-Za-z]")
_DIGIT_BLOCK = re.compile(r"\d+")


# The number types phonenumbers tries, in `_number_type_helper`; a valid number is of one of them.
_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
                 "fixed_line", "mobile")  # fmt: skip


def _valid_number_patterns(metadata):
    """(length, pattern) pairs a valid national number of the region matches one of: each number type's
    pattern, at the lengths both the type and the general description allow (`_is_number_matching_desc`:
    no lengths listed means any length)."""
    general = metadata.general_desc if metadata is not None else None
    if general is None or not general.national_number_pattern:
        return  # phonenumbers validates nothing against an empty pattern
    general_lengths = set(general.possible_length or range(1, 18))
    for number_type in _NUMBER_TYPES:
        desc = getattr(metadata, number_type)
        if desc is None or not desc.national_number_pattern:
            continue
        for length in sorted(general_lengths.intersection(desc.possible_length or range(1, 18))):
            yield length, desc.national_number_pattern


@functools.cache
def _shortest_international_number() -> int:
    """The fewest digits of a country code and a valid national number, over every country."""
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, REGION_CODE_FOR_NON_GEO_ENTITY

    shortest = 18
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            if region == REGION_CODE_FOR_NON_GEO_ENTITY:
                metadata = PhoneMetadata.metadata_for_nongeo_region(code, None)
            else:
                metadata = PhoneMetadata.metadata_for_region(region, None)
            if metadata is None or metadata.general_desc is None:
                continue
            lengths = metadata.general_desc.possible_length or (1,)
            shortest = min(shortest, len(str(code)) + min(lengths))
    return shortest


class _RecordingMatcher(PhoneNumberMatcher):
    """phonenumbers' matcher with every parse failing: it lists the strings it would parse, in order, with
    their offsets."""

    def __init__(self, text: str, leniency):
        super().__init__(text, None, leniency=leniency)
        self.parsed: list[tuple[str, int]] = []

    def _parse_and_verify(self, candidate, offset):
        self.parsed.append((candidate, offset))
        return None


def _strings_parsed(text: str, leniency) -> list[tuple[str, int]]:
    """The strings (and their offsets) any region's matcher parses in `text` until one parses as a number:
    the search, the candidate splitting and the inner matches before that do not depend on the region."""
    recorder = _RecordingMatcher(text, leniency)
    recorder.has_next()
    return recorder.parsed


class BoundedPhoneNumberMatcher(PhoneNumberMatcher):
    """phonenumbers' matcher, skipping the parse of a string the metadata bound says holds no number of
    the region: the parse would fail, so the matches are the plain matcher's."""

    def __init__(self, text: str, region: str, leniency, bound: RegionMetadataBound):
        super().__init__(text, region, leniency=leniency)
        self._bound = bound
        self.parsed: list[str] = []  # the strings it parsed (or ruled out), in order

    def _parse_and_verify(self, candidate, offset):
        self.parsed.append(candidate)
        if not self._bound.parsable(self.preferred_region, candidate):
            return None
        return super()._parse_and_verify(candidate, offset)

    def following(self, parsed: list[tuple[str, int]]):
        """The matches, given the strings (and offsets) the matcher parses in this text when every parse
        fails (`_strings_parsed`): its search goes through those same strings until a parse succeeds, so
        they are parsed in turn, and the matcher searches on from the first match's end."""
        for candidate, offset in parsed:
            match = self._parse_and_verify(candidate, offset)
            if match is not None:
                self._search_index = match.end  # where `has_next` would search next
                yield match
                yield from self
                return


def _written_with_plus(string: str) -> bool:
    """Whether phonenumbers' parse reads the string as written with a `+` and a valid country code: the
    number's country then comes from the string, and the default region is never read. (With a `+` and
    an invalid code, parse tries again without the `+`, in the default region.)"""
    from phonenumbers.phonenumberutil import (
        _PLUS_CHARS_PATTERN,
        NumberParseException,
        _build_national_number_for_parsing,
        _extract_country_code,
        _normalize,
    )

    try:
        number = _build_national_number_for_parsing(string)
    except NumberParseException:
        return False
    plus = _PLUS_CHARS_PATTERN.match(number)
    return plus is not None and _extract_country_code(_normalize(number[plus.end() :]))[0] != 0


class PhoneVerdicts:
    """Per distinct run of digits, the regions whose phone matcher finds a number in it; remembered, so
    "2019" is parsed once per process, not once per page. `matcher_calls` counts the parses done."""

    MAX_REMEMBERED = 200_000

    def __init__(self, phone: PhoneRecognizer):
        from phonenumbers import re_util

        # phonenumbers compiles its metadata's expressions on every use through `re`'s own cache, a
        # tenth of a parse's cost; its switch keeps each compiled once (for presidio's parses too).
        re_util.enable_pattern_cache()
        self.regions = tuple(phone.supported_regions)
        self.leniency = phone.leniency
        self.bound = RegionMetadataBound(self.regions, phone.leniency)
        self._verdicts: dict[str, dict[str, list[tuple[int, int]]]] = {}
        self.matcher_calls = 0

    def __call__(self, run: str) -> tuple[str, ...]:
        """The regions whose matcher finds a number in the bare run (none: not a phone number).

        phonenumbers decides on the run itself and only rejects because of the characters next to it
        (a letter, a time-stamp suffix), so a region that finds nothing in the bare run finds nothing
        starting in it in context either: the windows ask only these regions, not all of them.
        """
        return tuple(self.matches(run))

    def matches(self, run: str) -> dict[str, list[Number]]:
        """Per region that finds a number in the run between two spaces, the numbers, at offsets in the run.

        When every string one region's matcher parsed was written with a `+`, each parse read the
        number's own country code and region, whatever the matcher's region: every region's matcher then
        goes the same way and finds the same numbers, so the others are not run."""
        found = self._verdicts.get(run)
        if found is None:
            padded = f" {run} "
            parsed = _strings_parsed(padded, self.leniency)
            found = {}
            same_everywhere = None
            for region in self.bound.possible_parsing([string for string, _ in parsed], self.regions):
                if same_everywhere is not None:
                    if same_everywhere:
                        found[region] = same_everywhere
                    continue
                self.matcher_calls += 1
                matcher = BoundedPhoneNumberMatcher(padded, region, self.leniency, self.bound)
                numbers = [_number(match, region, -1) for match in matcher.following(parsed)]
                if numbers:
                    found[region] = numbers
                if matcher.parsed and all(map(_written_with_plus, matcher.parsed)):
                    same_everywhere = numbers
            if len(self._verdicts) > self.MAX_REMEMBERED:
                self._verdicts.clear()
            self._verdicts[run] = found
        return found

    def read_chain(self, text: str, start: int, end: int) -> list[Number]:
        """The numbers each region's matcher finds starting in text[start:end], a
        chain of runs whose start the matcher reads afresh (`fresh_start`): it reads them as in the whole
        text, with the character before and room for an extension after."""
        begin = max(0, start - 1)
        snippet = text[begin : end + _EXTENSION_CHARS]
        found = []
        for region in self.regions:
            for match in BoundedPhoneNumberMatcher(snippet, region, self.leniency, self.bound):
                if begin + match.start >= end:
                    break  # matches come in order: none later starts in the chain
                if begin + match.start >= start:
                    found.append(_number(match, region, begin))
        return found


class ChainedNumbers:
    """A document's phone numbers where its runs chain: a run opening inside the extension of the number
    before it ("555 1234 ext. 12 34 5678"). The matcher reads that number with its extension and starts
    its next candidate after it, inside the run, so the run cannot be read alone; the chain is read
    whole instead (`PhoneVerdicts.read_chain`), from a start where the matcher starts afresh.

    `spans`: the chains' [start, end), in order; `found`: the numbers starting in them, in document
    offsets."""

    def __init__(self, spans: list[tuple[int, int]], found: list[Number]):
        self.spans = spans
        self.found = found
        self._starts = [start for start, _ in spans]

    @classmethod
    def among(cls, text: str, digit_positions, runs, verdicts: PhoneVerdicts) -> ChainedNumbers:
        """The chains of `runs` (PHONE_CANDIDATE matches in `text`) and the numbers read in them."""
        chains = sorted(
            (fresh_start(text, digit_positions, run.start()), run.end())
            for run in runs
            if extends_into(text, digit_positions, run.start())
        )
        if not chains:
            return NO_CHAINS
        spans = [chains[0]]
        for start, end in chains[1:]:
            if start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return cls(spans, [number for start, end in spans for number in verdicts.read_chain(text, start, end)])

    def covers(self, position: int) -> bool:
        index = bisect.bisect_right(self._starts, position) - 1
        return index >= 0 and position < self.spans[index][1]


NO_CHAINS = ChainedNumbers([], [])


class CandidatePhoneRecognizer(PhoneRecognizer):
    """presidio's PhoneRecognizer, reading only the candidate runs a phone number can be in.

    It runs the same matcher, per region whose verdict found a number, on each candidate run, with the
    character before it and the text after it (for an extension), and keeps the matches that start in
    the run: the matcher decides on a candidate and its neighbours. For runs in a chain it reports the
    numbers read in the chain (`chained`: the document's; `offset`: where the text starts in it).
    """

    def __init__(self, phone: PhoneRecognizer, verdicts: PhoneVerdicts):
        super().__init__(
            context=phone.context,
            supported_language=phone.supported_language,
            supported_entity=phone.supported_entities[0],
            supported_regions=phone.supported_regions,
            leniency=phone.leniency,
            name=phone.name,
        )
        self._verdicts = verdicts
        self.chained = NO_CHAINS
        self.offset = 0

    def analyze(self, text: str, entities, nlp_artifacts=None):
        from presidio_analyzer import EntityRecognizer

        results = []
        for run in PHONE_CANDIDATE.finditer(text):
            if self.chained.covers(self.offset + run.start()):
                continue
            found = self._verdicts.matches(run.group())
            if not found:
                continue
            if _between_spaces(text, run.start(), run.end()):
                # The matcher reads the run here as between the verdict's two spaces: its numbers stand.
                for numbers in found.values():
                    results += [self._result(number, run.start(), text, nlp_artifacts) for number in numbers]
                continue
            start = max(0, run.start() - 1)
            snippet = text[start : run.end() + _EXTENSION_CHARS]
            for region in found:
                for match in BoundedPhoneNumberMatcher(snippet, region, self.leniency, self._verdicts.bound):
                    if start + match.start >= run.end():
                        break  # matches come in order: none later starts in the run
                    if start + match.start < run.start():
                        continue
                    results.append(self._result(_number(match, region, start), 0, text, nlp_artifacts))
        for number in self.chained.found:
            if self.offset <= number.start < self.offset + len(text):
                results.append(self._result(number, -self.offset, text, nlp_artifacts))
        return EntityRecognizer.remove_duplicates(results)

    def _result(self, number: Number, shift: int, text: str, nlp_artifacts):
        """presidio's result for a number, `shift` characters further in the text."""
        located = Number(number.start + shift, number.end + shift, number.named)
        return self._get_recognizer_result(located, text, number.named, nlp_artifacts)


def extends_into(text: str, digit_positions, start: int) -> bool:
    """Whether an extension of the number before the run starting at `start` ("... #7", "... ext. 12")
    could take the run's first digits: phonenumbers' matcher then starts its next candidate inside the
    run, where a window's matcher, starting at the run, would not. The last digit before the run ends
    the number the extension would belong to."""
    before = int(np.searchsorted(digit_positions, start)) - 1
    if before < 0 or start - digit_positions[before] > _EXTENSION_CHARS:
        return False
    extension = _EXTENSION.match(text, int(digit_positions[before]) + 1)
    return extension is not None and extension.end() > start


def fresh_start(text: str, digit_positions, start: int) -> int:
    """Where, at or before `start`, phonenumbers' matcher starts reading afresh: no candidate it reads
    crosses it. While an extension reaches `start`, step back to the start of the stretch of characters
    a candidate's number can hold (digits, its punctuation and leads; spaces) around the digit the
    extension follows: no number crosses the character before that stretch, and an extension that
    crosses it follows the last digit before it (an extension has no digit before its own)."""
    while extends_into(text, digit_positions, start):
        start = int(digit_positions[int(np.searchsorted(digit_positions, start)) - 1])
        while start > 0 and _NUMBER_CHARACTER.match(text, start - 1):
            start -= 1
    return start


# Characters the matcher treats beside a run as it treats a space. It rejects a number next to a Latin
# letter, a % or a currency sign, and one followed by a time stamp's ":30"; digits, + and brackets would
# be part of the run. (The characters a run holds itself decide nothing here: it is the same run.)
_NEUTRAL_BEFORE = frozenset(" \t\n\r\f\v\u00a0\u3000,.;:!?\"'\u201c\u201d\u2018\u2019\u00ab\u00bb/-\u2013\u2014")
_NEUTRAL_AFTER = (_NEUTRAL_BEFORE - {":"}) | {")", "]"}


def _between_spaces(text: str, start: int, end: int) -> bool:
    """Whether phonenumbers' matcher reads the run text[start:end] as it reads " run ": a neutral
    character (or the text's start) before it, one (or the text's end) after it, and no extension
    ("ext. 12", ", 12#") after."""
    return (start == 0 or text[start - 1] in _NEUTRAL_BEFORE) and (
        end == len(text) or (text[end] in _NEUTRAL_AFTER and _EXTENSION.match(text, end) is None)
    )


class Number(NamedTuple):
    """A phone number the matcher found: where it is, and the region presidio's recognizer names it by."""

    start: int
    end: int
    named: str


def _number(match, region: str, shift: int) -> Number:
    """The match, `shift` characters further, named as presidio's recognizer names it: by the region of
    the number it parses from the match alone, which it can only when the number is written with `+`
    and a country code, else by the matcher's region."""
    from phonenumbers import region_code_for_number

    named = region_code_for_number(match.number) if _written_with_plus(match.raw_string) else region
    return Number(match.start + shift, match.end + shift, named)
