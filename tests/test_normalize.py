import pytest
from datatrove.data import Document

from stages.normalize import TextNormalizer


def _run(step, texts):
    return list(step.run(iter(Document(text=t, id=str(i)) for i, t in enumerate(texts))))


def test_nfc_mojibake_and_whitespace():
    step = TextNormalizer()
    decomposed = "Cafe\u0301"  # e + combining acute
    mojibake = "The cafÃ© is open"
    messy = "  one   two\t\tthree  \n\n\n\n  four  "
    assert step.normalize(decomposed) == "Café"
    assert step.normalize(mojibake) == "The café is open"
    assert step.normalize(messy) == "one two three\n\nfour"


def test_keeps_quotes_and_ligatures_as_written():
    assert TextNormalizer().normalize("“quoted” ﬁne") == "“quoted” ﬁne"


def test_empty_and_whitespace_documents_are_dropped_with_reason(tmp_path):
    step = TextNormalizer()
    step.ledger_folder = str(tmp_path)
    kept = _run(step, ["text", "", "   \n\t  ", "more"])
    assert [d.text for d in kept] == ["text", "more"]
    assert step.stats["dropped/empty"].total == 2
    rows = (tmp_path / "normalize" / "00000.jsonl").read_text().splitlines()
    assert len(rows) == 2 and all('"reason": "empty"' in row for row in rows)


def test_min_chars_drops_short_documents():
    step = TextNormalizer(min_chars=10)
    assert [d.text for d in _run(step, ["short", "long enough text"])] == ["long enough text"]
    assert step.stats["dropped/too_short"].total == 1


@pytest.mark.parametrize("text", ["plain", "Grüße\n\naus Köln", "a b"])
def test_idempotent(text):
    step = TextNormalizer()
    assert step.normalize(step.normalize(text)) == step.normalize(text)


def test_a_text_of_only_invisible_characters_is_empty():
    invisible = "\u200b\u200c\u200d\u2060\ufeff\u202e\u2066\u00ad" * 1000  # zero-width, bidi, BOM, soft hyphen
    step = TextNormalizer()
    kept = _run(step, [invisible, "\u200bvisible\u200b", invisible + " \n "])
    assert [d.text for d in kept] == ["\u200bvisible\u200b"]
    assert step.stats["dropped/empty"].total == 2


def test_min_chars_counts_visible_characters_only():
    step = TextNormalizer(min_chars=5)
    assert [d.text for d in _run(step, ["ab\u200b\u200b\u200b\u200bc", "abcde"])] == ["abcde"]
    assert step.stats["dropped/too_short"].total == 1
