"""The personal-data step: erasure requests, detection, policy, and the audit trail of what was done."""

from __future__ import annotations

import gc
import ipaddress
import json
import os
import re
from collections import Counter
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep, Drop, outcome_of, write_summary
from stages.pii.entities import CONTEXT_REQUIRED, NER_ENTITIES


class Withheld:
    """Holds a value the step needs but nobody may read in its place: datatrove writes every step's
    attributes to `executor.json` in the logs, and this prints as `<withheld>` there, in reprs and
    tracebacks (the pseudonym key, the erasure list's identifiers)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return "<withheld>"

    __str__ = __repr__


class ScrubPersonalData(CorpusStep):
    """Reads `doc.text` (and `metadata.url` for erasure requests); rewrites `doc.text` with each finding
    replaced as its type's policy says, and sets `metadata.pii_findings` (the number of findings).
    A finding is a span presidio-anonymizer replaced: where recognizers overlap (a phone number read on
    an SSN), the one it keeps counts, once. Not replaced: private IP addresses (`keep_private_ips`) and
    national IDs other than the US SSN away from their context words (`_in_its_context`).

    Drops, by reason: `erasure/line-<N>` (the request's line in the erasure file), `personal_data/<TYPE>`
    (a type whose policy is `drop`), `too_many_findings` (more than `max_findings` that are not NER
    types: names and places are not counted).
    Stats: `findings/<TYPE>`, `action/<TYPE>/<action>`, `documents_with_findings`, plus the base counts.
    Audit: `<work>/findings/<rank>.jsonl` holds, per finding, the document id, type, offsets in the
    text this step read, score and action, never the value; `<work>/summary/<rank>.json` the counts.
    """

    name = "pii"
    # Documents analyzed together: the analyzer's vector work then costs its fixed price once per batch.
    batch_size = 64

    def __init__(self, options, work_folder: str, secret: bytes | None, erasure=None):
        super().__init__()
        self.options = options
        self.work_folder = work_folder
        self._secret = Withheld(secret)
        self._erasure = Withheld(erasure)
        self._analyzer = None
        self._anonymizer = None
        self._operators = None

    # Built per task, not pickled with the step: presidio's engines hold compiled state and spaCy.
    def _setup(self) -> None:
        from stages.pii.engine import build_analyzer
        from stages.pii.recognizers import recognizers_for  # first: imports presidio without torch

        options = self.options
        entities = options.entity_types()
        recognizers = recognizers_for(entities, options.phone_regions)
        engine = build_analyzer(recognizers, options.model)
        self._context_of = {
            r.supported_entities[0]: _context_words(r.context)
            for r in recognizers
            if r.supported_entities[0] in CONTEXT_REQUIRED and r.context
        }

        from presidio_anonymizer import AnonymizerEngine

        from stages.pii.policy import operators
        from stages.pii.prefilter import WindowedAnalyzer

        self._analyzer = WindowedAnalyzer(engine, entities, options.score_threshold)
        self._anonymizer = AnonymizerEngine()
        self._operators = operators(
            options.policy,
            entities,
            options.placeholder,
            options.pseudonym_format,
            options.mask_char,
            self._secret.value,
        )
        # presidio, spaCy and phonenumbers' metadata leave millions of long-lived objects, and the
        # analyzer's caches keep adding some: each full garbage collection would walk them all again.
        # Freezing moves what exists now out of the collector's sight (Python's advice for this case).
        gc.freeze()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._setup()
        self._counts = Counter()
        self._log = None
        if self.options.findings_log:
            os.makedirs(Path(self.work_folder, "findings"), exist_ok=True)
            self._log = open(Path(self.work_folder, "findings", f"{rank:05d}.jsonl"), "w", encoding="utf-8")
        try:
            yield from super().run(data, rank, world_size)
        finally:
            if self._log:
                self._log.close()
            write_summary(self.work_folder, rank, self._counts)

    def process_batch(self, docs: list[Document]) -> list[Document | Exception]:
        found = self._analyzer.analyze_many([doc.text for doc in docs])
        return [outcome_of(self._scrub, doc, findings) for doc, findings in zip(docs, found, strict=True)]

    def process(self, doc: Document) -> Document:
        return self._scrub(doc, self._analyzer.analyze(doc.text))

    def _scrub(self, doc: Document, found: list) -> Document:
        erasure = self._erasure.value
        if erasure is not None:
            request = erasure.request_in(doc.text, doc.metadata.get("url"))
            if request is not None:
                self._counts["dropped/erasure"] += 1
                raise Drop(f"erasure/{request}")
        findings = self._replaceable(doc.text, found)
        if not findings:
            doc.metadata["pii_findings"] = 0
            return doc
        anonymized, kept = self._replaced(doc.text, findings)
        doc.metadata["pii_findings"] = len(kept)
        self.stat_update("documents_with_findings")
        actions = {entity_type: self.options.action_for(entity_type) for entity_type, _, _ in kept}
        for entity_type, start, end in kept:
            keys = (f"findings/{entity_type}", f"action/{entity_type}/{actions[entity_type]}")
            self.stat_update(*keys)
            self._counts.update(keys)
            if self._log:
                score = _score_of(findings, entity_type, start, end)
                row = {"id": doc.id, "type": entity_type, "start": start, "end": end,
                       "score": round(score, 3), "action": actions[entity_type]}  # fmt: skip
                self._log.write(json.dumps(row) + "\n")
        dropped_types = sorted(t for t, action in actions.items() if action == "drop")
        if dropped_types:
            self._counts["dropped/policy"] += 1
            raise Drop(f"personal_data/{dropped_types[0]}")
        limit = self.options.max_findings
        # Dolma's rule counts identifiers (e-mails, phones, IPs, ...): a news story names more than five
        # people and places, and dropping it for that would drop the news.
        if limit is not None and sum(entity_type not in NER_ENTITIES for entity_type, _, _ in kept) > limit:
            self._counts["dropped/too_many_findings"] += 1
            raise Drop("too_many_findings")
        self._counts["documents_scrubbed"] += 1
        doc.text = anonymized.text
        return doc

    def findings(self, text: str) -> list:
        """What this step would replace in a text, without replacing it: the spans it counts (the
        private-IP rule applied, overlapping findings resolved as the anonymizer resolves them), as
        presidio RecognizerResults, for scoring the step on labelled data (`corpus-prep eval-pii`)."""
        from presidio_analyzer import RecognizerResult

        if self._analyzer is None:
            self._setup()
        found = self._replaceable(text, self._analyzer.analyze(text))
        if not found:
            return []
        _, kept = self._replaced(text, found)
        return [RecognizerResult(t, start, end, _score_of(found, t, start, end)) for t, start, end in kept]

    def _replaced(self, text: str, findings: list):
        """The anonymized text, and the (type, start, end) spans presidio-anonymizer replaced, each once:
        a phone number read on an SSN is one value, not two (the anonymizer keeps the higher-scored
        finding). Each finding is replaced on its own: presidio-anonymizer would otherwise merge two
        findings of one type separated by whitespace into one, replacing the whitespace too (found by a
        property test)."""
        anonymized = self._anonymizer.anonymize(text, findings, self._operators, merge_entities_with_spaces=False)
        return anonymized, replaced_spans(findings, anonymized)

    def _replaceable(self, text: str, found: list) -> list:
        return [f for f in found if not self._is_kept_ip(text, f) and self._in_its_context(text, f)]

    def _in_its_context(self, text: str, finding) -> bool:
        """A national ID other than the US SSN counts only beside one of its recognizer's context words
        ("tfn", "nhs", "pesel", ...) among the 8 words before it and the 2 after. Their checksums pass one
        random number in ten or eleven: on 697 web pages, runs of page numbers ("318 319 320") and DOIs gave
        180 AU_ACN, 164 AU_TFN and 133 CA_SIN findings, more than every other type together, and none was an
        ID. presidio itself runs these recognizers only for their own language."""
        words = self._context_of.get(finding.entity_type)
        if words is None:
            return True
        before = text[max(0, finding.start - 160) : finding.start].split()[-8:]
        after = text[finding.end : finding.end + 40].split()[:2]
        return words.search(" ".join([*before, *after])) is not None

    def _is_kept_ip(self, text: str, finding) -> bool:
        """Private, loopback, link-local and reserved addresses identify no one: kept when so configured."""
        if finding.entity_type != "IP_ADDRESS" or not self.options.keep_private_ips:
            return False
        try:
            address = ipaddress.ip_interface(text[finding.start : finding.end]).ip
        except ValueError:
            return False
        return address.is_private or address.is_loopback or address.is_link_local or address.is_reserved


def _context_words(words: list[str]):
    """A pattern matching any of the words as a whole word or phrase, in any case."""
    alternatives = "|".join(sorted((re.escape(word) for word in words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _score_of(findings: list, entity_type: str, start: int, end: int) -> float:
    """The best score among the findings of a type that a replaced span covers."""
    return max(f.score for f in findings if f.entity_type == entity_type and f.start < end and start < f.end)


def replaced_spans(findings: list, anonymized) -> list[tuple[str, int, int]]:
    """(type, start, end) in the original text of each span presidio-anonymizer replaced, in text order.

    Its result says where each replacement sits in the new text, and the text before the first one is
    unchanged, so each replacement's original start follows from the lengths replaced before it. Its
    end is where presidio's merge of overlapping findings of one type ends (a lone finding: its own end).
    """
    spans, shift = [], 0  # shift: original offset minus new offset after the replacements so far
    for item in sorted(anonymized.items, key=lambda item: item.start):
        start = item.start + shift
        same_type = [f for f in findings if f.entity_type == item.entity_type]
        end = max((f.end for f in same_type if f.start == start), default=None)
        if end is None:  # it overlapped a finding of another type replaced before it, which took its start
            end = max((f.end for f in same_type if f.start <= start < f.end), default=start + len(item.text))
        grown = True
        while grown:  # overlapping findings of one type are merged into their union
            reach = max((f.end for f in same_type if f.start < end < f.end), default=end)
            grown, end = reach > end, reach
        spans.append((item.entity_type, start, end))
        shift = end - item.end
    return spans
