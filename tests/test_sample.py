import hashlib
from collections import Counter

from warcio.archiveiterator import ArchiveIterator

from pipeline.sample import generate_sample
from pipeline.sample.personal_data import iban_check_digits, luhn_check_digit
from tests.conftest import ground_truth


def _digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate_sample(tmp_path / "a", pages=60, seed=3, files=2)
    b = generate_sample(tmp_path / "b", pages=60, seed=3, files=2)
    c = generate_sample(tmp_path / "c", pages=60, seed=4, files=2)
    assert _digest(a.folder) == _digest(b.folder)
    assert _digest(a.folder) != _digest(c.folder)


def test_records_match_ground_truth(small_sample):
    truth = {page["id"]: page for page in ground_truth(small_sample)}
    kinds = Counter()
    html_ids = []
    for path in sorted(small_sample.glob("*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                kinds[record.rec_type] += 1
                content_type = record.http_headers.get_header("Content-Type") if record.http_headers else ""
                if record.rec_type == "response" and content_type.startswith("text/html"):
                    html_ids.append(record.rec_headers.get_header("WARC-Record-ID"))
    assert len(html_ids) == len(truth) == 160
    assert set(html_ids) == set(truth)
    assert kinds["request"] >= 1 and kinds["metadata"] >= 1  # records a reader must skip


def test_planted_variety(tmp_path):
    corpus = generate_sample(tmp_path, pages=600, seed=1, files=3)
    pages = ground_truth(corpus.folder)
    kinds = Counter(page["kind"] for page in pages)
    assert kinds["exact_duplicate"] > 10 and kinds["near_duplicate"] > 20 and kinds["broken"] > 5
    assert {p["edit"] for p in pages if p["kind"] == "near_duplicate"} >= {"template"}
    assert any(p["edit"].startswith("words:") for p in pages if p["kind"] == "near_duplicate")
    assert {p["language"] for p in pages} == {"en", "de", "fr", "es"}
    assert {p["broken"] for p in pages if p["broken"]} == {
        "wrong_charset",
        "missing_charset",
        "truncated_html",
        "empty_body",
    }
    ids = {p["id"] for p in pages}
    assert all(p["duplicate_of"] in ids for p in pages if p["duplicate_of"])
    assert all(p["near_duplicate_of"] in ids for p in pages if p["near_duplicate_of"])
    planted = Counter(item["type"] for p in pages for item in p["personal_data"])
    assert set(planted) == {
        "PERSON",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "US_SSN",
    }


def test_planted_values_are_valid(tmp_path):
    corpus = generate_sample(tmp_path, pages=400, seed=2, files=1)
    values = [item for p in ground_truth(corpus.folder) for item in p["personal_data"]]
    cards = [v["value"] for v in values if v["type"] == "CREDIT_CARD"]
    ibans = [v["value"] for v in values if v["type"] == "IBAN_CODE"]
    assert cards and ibans
    for card in cards:
        digits = "".join(c for c in card if c.isdigit())
        assert luhn_check_digit(digits[:-1]) == digits[-1]
    for iban in ibans:
        compact = iban.replace(" ", "")
        assert iban_check_digits(compact[:2], compact[4:]) == compact[2:4]


def test_checksum_helpers_on_published_examples():
    assert luhn_check_digit("7992739871") == "3"  # the textbook Luhn example
    assert iban_check_digits("GB", "WEST12345698765432") == "82"  # GB82 WEST 1234 5698 7654 32
    assert iban_check_digits("DE", "370400440532013000") == "89"  # DE89 3704 0044 0532 0130 00


def test_page_text_is_in_the_html(small_sample):
    """Every article paragraph of an intact page appears verbatim (HTML-escaped) in its record."""
    import html

    pages = {p["id"]: p for p in ground_truth(small_sample) if p["kind"] == "original" and p["charset"] == "utf-8"}
    checked = 0
    for path in sorted(small_sample.glob("*.warc.gz")):
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                page = pages.get(record.rec_headers.get_header("WARC-Record-ID"))
                if page:
                    body = record.content_stream().read().decode("utf-8")
                    assert all(html.escape(p, quote=False) in body for p in page["article_paragraphs"])
                    checked += 1
    assert checked > 50
