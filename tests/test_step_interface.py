"""The step interface every stage builds on: batches, drops and errors accounted per document."""

import json

import pytest
from datatrove.data import Document

from stages.base import CorpusStep, Drop, TaskError


class Upper(CorpusStep):
    """A batching step: uppercases a batch at once; a text with "bad" fails the batch, "drop" drops."""

    name = "upper"
    batch_size = 4

    def __init__(self):
        super().__init__()
        self.batches = []

    def process_batch(self, docs):
        self.batches.append(len(docs))
        if any("bad" in doc.text for doc in docs):
            raise ValueError("a bad text in the batch")
        return [Drop("asked") if "drop" in doc.text else self._upper(doc) for doc in docs]

    def process(self, doc):
        if "bad" in doc.text:
            raise ValueError("this one is bad")
        if "drop" in doc.text:
            raise Drop("asked")
        return self._upper(doc)

    @staticmethod
    def _upper(doc):
        doc.text = doc.text.upper()
        return doc


def _ledger(folder):
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


def test_a_failed_batch_costs_only_its_bad_document(tmp_path):
    step = Upper()
    step.ledger_folder = str(tmp_path)
    texts = ["a", "b", "bad c", "d", "drop e", "f", "g"]
    out = list(step.run(iter(Document(text=t, id=str(i)) for i, t in enumerate(texts))))
    assert [doc.text for doc in out] == ["A", "B", "D", "F", "G"]
    assert step.batches == [4, 3]
    assert {(row["id"], row["outcome"], row["reason"].split(":")[0]) for row in _ledger(tmp_path)} == {
        ("2", "quarantined", "ValueError"),
        ("4", "dropped", "asked"),
    }
    stats = step.stats.stats
    assert stats["documents_in"].total == 7 and stats["documents_out"].total == 5
    assert stats["dropped/asked"].total == 1 and stats["quarantined/ValueError"].total == 1


def test_a_task_error_fails_the_task_instead_of_quarantining_every_document(tmp_path):
    class LostConnection(Upper):
        def process_batch(self, docs):
            raise TaskError("the index went away")

        process = process_batch

    step = LostConnection()
    step.ledger_folder = str(tmp_path)
    with pytest.raises(TaskError, match="went away"):
        list(step.run(iter([Document(text="a", id="0")])))
    assert _ledger(tmp_path) == []
