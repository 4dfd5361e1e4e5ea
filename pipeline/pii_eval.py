"""Scores the `pii` step on labelled sentences beside bare presidio, on the same sentences, in one run.

The sentences are in presidio-research's format (a JSON list of `full_text` and `spans`, as in
../shared/data/pii-dev), which labels character spans (`entity_type`, `start_position`, `end_position`).
A label is found when a finding of its type overlaps it; a finding that overlaps no label of its type
is a false positive. Labels with an empty span (a few in pii-dev) cannot be found by anyone and are
reported, not scored.
"Bare presidio" is `AnalyzerEngine` as presidio configures it (its default recognizers and regions) on
spaCy with the step's model (all of its pipeline, as presidio loads it; a blank one without a model),
asked for the same entity types at the same score threshold. Ours is the
step itself, the spans it replaces (`ScrubPersonalData.findings`: its private-IP and national-ID
context rules applied, overlaps resolved as its anonymizer resolves them), not its analyzer alone.
Every type the data labels is scored too, so a type the step does not look for (names, without a
model) shows with recall 0.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

LABEL_NAMES = {"IBAN": "IBAN_CODE"}  # pii-dev's names where they differ from presidio's


def _score(sentences, findings_per_sentence, entities) -> dict:
    scores = {}
    for entity in entities:
        found = missed = false_positives = empty = 0
        for sentence, findings in zip(sentences, findings_per_sentence, strict=True):
            spans = [s for s in sentence["spans"] if LABEL_NAMES.get(s["entity_type"], s["entity_type"]) == entity]
            labelled = [s for s in spans if s["end_position"] > s["start_position"]]
            empty += len(spans) - len(labelled)
            mine = [f for f in findings if f.entity_type == entity]
            for span in labelled:
                hit = any(f.start < span["end_position"] and span["start_position"] < f.end for f in mine)
                found, missed = found + hit, missed + (not hit)
            false_positives += sum(
                not any(f.start < s["end_position"] and s["start_position"] < f.end for s in labelled) for f in mine
            )
        labelled_total = found + missed
        scores[entity] = {
            "labelled": labelled_total,
            "empty_labels": empty,
            "recall": found / labelled_total if labelled_total else None,
            "precision": found / (found + false_positives) if found + false_positives else None,
            "false_positives": false_positives,
        }
    return scores


def evaluate(path: str | Path, options=None) -> dict:
    import tempfile

    from stages.base import StageContext
    from stages.pii import PiiOptions

    options = options or PiiOptions()
    entities = options.entity_types()
    sentences = json.loads(Path(path).read_text(encoding="utf-8"))
    texts = [s["full_text"] for s in sentences]
    labelled_types = {LABEL_NAMES.get(s["entity_type"], s["entity_type"]) for row in sentences for s in row["spans"]}
    scored = [*entities, *sorted(labelled_types - set(entities))]

    with tempfile.TemporaryDirectory(prefix="eval-pii-") as work:  # the step's work folder: nothing is written
        (step,) = options.build(StageContext(work, work, 1))
        ours_findings, ours_seconds, bare_findings, bare_seconds = _timed_findings(step, texts, entities, options)
    return {
        "sentences": len(texts),
        "ours": _score(sentences, ours_findings, scored),
        "presidio": _score(sentences, bare_findings, scored),
        "seconds": {"ours": ours_seconds, "presidio": bare_seconds},
    }


def _timed_findings(step, texts: list[str], entities: list[str], options):
    """The step's findings and bare presidio's on the same texts, each side timed after its start-up."""
    from stages.pii.engine import without_deep_learning_imports

    with without_deep_learning_imports():
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    import spacy  # after the engine above: presidio first imports it without torch

    from stages.pii.engine import LANGUAGE, presidio_default_ner_configuration

    # presidio's own setup with the step's model loaded whole (or a blank pipeline), minus the download
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": options.model or "blank"}],
        ner_model_configuration=presidio_default_ner_configuration() if options.model else None,
    )
    nlp_engine.nlp = {LANGUAGE: spacy.load(options.model) if options.model else spacy.blank(LANGUAGE)}
    bare = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    bare_entities = [e for e in entities if e in bare.get_supported_entities(LANGUAGE)]
    step.findings("")  # builds its engines: their start-up is not what is timed

    started = time.perf_counter()
    ours_findings = [step.findings(t) for t in texts]
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    bare_findings = [
        bare.analyze(t, language=LANGUAGE, entities=bare_entities, score_threshold=options.score_threshold)
        for t in texts
    ]
    bare_seconds = time.perf_counter() - started
    return ours_findings, ours_seconds, bare_findings, bare_seconds


def render(result: dict) -> str:
    lines = [
        f"{result['sentences']} labelled sentences; ours {result['seconds']['ours']:.2f} s, "
        f"bare presidio {result['seconds']['presidio']:.2f} s",
        f"{'entity':<26}{'labels':>7}{'recall':>9}{'presidio':>10}{'precision':>11}{'presidio':>10}",
    ]

    def fmt(value):
        return "-" if value is None else f"{value:.3f}"

    for entity, ours in result["ours"].items():
        bare = result["presidio"][entity]
        if not ours["labelled"] and not ours["false_positives"] and not bare["false_positives"]:
            continue
        note = f"  ({ours['empty_labels']} empty labels not scored)" if ours["empty_labels"] else ""
        lines.append(
            f"{entity:<26}{ours['labelled']:>7}{fmt(ours['recall']):>9}{fmt(bare['recall']):>10}"
            f"{fmt(ours['precision']):>11}{fmt(bare['precision']):>10}{note}"
        )
    empty_only = [e for e, s in result["ours"].items() if not s["labelled"] and s["empty_labels"]]
    if empty_only:
        lines.append(f"no scorable labels (only empty spans): {', '.join(empty_only)}")
    return "\n".join(lines)
