"""The language stage: each document's language identified offline, kept or dropped with a reason."""

import json
import socket

import pytest

from pipeline.config import parse_config
from pipeline.runner import run
from tests.conftest import ground_truth, read_jsonl_zst


@pytest.fixture
def offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket, "create_connection", no_network)


def test_the_sample_languages_are_identified_and_the_others_dropped(small_sample, tmp_path, offline):
    config = {
        "input": {"format": "warc", "paths": [str(small_sample / "*.warc.gz")]},
        "stages": [{"stage": "html"}, {"stage": "language", "keep": ["en", "de"]}],
        "output": {"folder": str(tmp_path / "out"), "format": "jsonl"},
        "executor": {"tasks": 2, "workers": 1},
    }
    result = run(parse_config(config), show_progress=False)
    accounting = result.accounting
    truth = {row["id"]: row["language"] for row in ground_truth(small_sample)}
    kept = read_jsonl_zst(tmp_path / "out" / "data")
    assert kept and all(doc["metadata"]["language"] in ("en", "de") for doc in kept)
    right = sum(doc["metadata"]["language"] == truth[doc["id"]] for doc in kept)
    assert right / len(kept) >= 0.98
    ledger = [
        json.loads(line)
        for path in (tmp_path / "out" / "accounting").glob("*language/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    dropped = {row["id"]: row["reason"] for row in ledger}
    assert {truth[i] for i, reason in dropped.items() if reason.startswith("language/")} <= {"es", "fr"}
    assert sum(reason in ("language/es", "language/fr") for reason in dropped.values()) > 0
    assert accounting.balanced
    section = result.report["languages"]
    assert set(section) == {"en", "de", "es", "fr"} and section["es"]["kept"] == 0
    assert sum(row["kept"] for row in section.values()) == len(kept)


def test_a_per_language_minimum_score_drops_with_its_reason(tmp_path, offline):
    from datatrove.data import Document

    from stages.base import StageContext
    from stages.language import LanguageOptions

    context = StageContext(str(tmp_path), str(tmp_path), 1)
    (step,) = LanguageOptions(min_score_by_language={"en": 0.999}).build(context)
    docs = [Document(text="ok then", id="0"), Document(text="Der Hund läuft schnell über die grüne Wiese.", id="1")]
    assert [doc.id for doc in step.run(iter(docs))] == ["1"]
    assert step.stats["dropped/language_score/en"].total == 1
