import gzip
import json
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.io.charset import decode_html
from pipeline.io.readers import AccountedJsonlReader, WarcReader
from pipeline.shared_data import shared_data_folder


def _ledger_rows(folder):
    return [json.loads(line) for path in sorted(folder.glob("*/*.jsonl")) for line in path.read_text().splitlines()]


def test_jsonl_keeps_empty_documents_and_quarantines_malformed_lines(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": "hello"}),
        "{not json",
        json.dumps({"id": "b", "text": ""}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "c", "text": "world", "lang": "en"}),
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    reader = AccountedJsonlReader(str(tmp_path), ["in.jsonl"], compression="infer")
    reader.ledger_folder = str(tmp_path / "ledger")
    docs = list(reader.run())
    assert [(d.id, d.text) for d in docs] == [("a", "hello"), ("b", ""), ("c", "world")]
    assert docs[2].metadata["lang"] == "en"
    rows = _ledger_rows(tmp_path / "ledger")
    assert [(r["id"], r["outcome"], r["reason"].split(":")[0]) for r in rows] == [
        ("in.jsonl/1", "quarantined", "malformed_json"),
        ("in.jsonl/3", "quarantined", "malformed_json"),
    ]
    assert reader.stats["documents"].total == 3 and reader.stats["quarantined"].total == 2


def test_truncated_gzip_is_quarantined_not_raised(tmp_path):
    payload = gzip.compress(("\n".join(json.dumps({"id": str(i), "text": "x" * 200}) for i in range(200))).encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(payload[: len(payload) // 2])
    reader = AccountedJsonlReader(str(tmp_path), ["cut.jsonl.gz"], compression="infer")
    reader.ledger_folder = str(tmp_path / "ledger")
    docs = list(reader.run())
    rows = _ledger_rows(tmp_path / "ledger")
    assert len(rows) == 1 and rows[0]["reason"].startswith("unreadable_file")
    assert len(docs) < 200


def _warc(records) -> bytes:
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for uri, content_type, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(uri, "response", payload=BytesIO(body), http_headers=headers))
    return buffer.getvalue()


def test_warc_reader_decodes_wrong_charset_and_counts_kinds(tmp_path):
    text = "<html><body><p>Grüße aus Köln, naïve café</p></body></html>"
    data = _warc(
        [
            (
                "https://a.example/1",
                "text/html; charset=utf-8",
                text.encode("cp1252"),
            ),  # lies about its charset
            ("https://a.example/2", "text/html", text.encode("utf-8")),
            ("https://a.example/logo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ]
    )
    (tmp_path / "x.warc.gz").write_bytes(data)
    reader = WarcReader(str(tmp_path), ["x.warc.gz"])
    docs = list(reader.run())
    assert len(docs) == 2
    assert all("Grüße aus Köln, naïve café" in d.text for d in docs)
    assert docs[0].metadata["url"] == "https://a.example/1" and docs[0].metadata["charset"] != "utf-8"
    assert reader.stats["records/html"].total == 2 and reader.stats["records/non_html_response"].total == 1


def test_corrupt_warc_is_quarantined(tmp_path):
    data = _warc([(f"https://a.example/{i}", "text/html", f"<p>page {i}</p>".encode()) for i in range(5)])
    (tmp_path / "bad.warc.gz").write_bytes(data[: len(data) - 40] + b"garbage" * 10)
    reader = WarcReader(str(tmp_path), ["bad.warc.gz"])
    reader.ledger_folder = str(tmp_path / "ledger")
    docs = list(reader.run())
    rows = _ledger_rows(tmp_path / "ledger")
    assert len(docs) == 4  # the records before the damage are read
    # The damaged last record is quarantined by its digest; depending on what the garbage decompresses
    # to (record ids and dates are random, so the gzip bytes differ per run), the reader may also meet
    # a region that is no record after it, quarantined as damaged_region. Never an exception, never a
    # 5th page.
    reasons = [row["reason"].split(":")[0] for row in rows]
    assert reasons and set(reasons) <= {"digest_mismatch", "damaged_region"}


def test_decode_html_prefers_declared_then_utf8_then_detection():
    assert decode_html("é".encode(), "text/html; charset=UTF-8") == ("é", "utf-8")
    assert decode_html('<meta charset="iso-8859-1"><p>é</p>'.encode("cp1252"))[0].endswith("<p>é</p>")
    text, charset = decode_html("Ärger über Öl und Straßenbahnen in München".encode("cp1252") * 3)
    assert "Straßenbahnen" in text


SHARED_WARC = shared_data_folder() / "warc"


@pytest.mark.skipif(not SHARED_WARC.exists(), reason=f"real WARC files not found under {SHARED_WARC}")
def test_every_real_warc_file_is_read_and_every_record_counted(tmp_path):
    """Common Crawl, ClueWeb09 (EUC-JP, digests that are block digests), wget crawls, a clipped page,
    WAT/WET, revisit, resource and chunked records: no error escapes, every record is counted by kind."""
    files = sorted(str(p.relative_to(SHARED_WARC)) for p in SHARED_WARC.rglob("*.warc*") if p.is_file())
    reader = WarcReader(str(SHARED_WARC), files)
    reader.ledger_folder = str(tmp_path / "ledger")
    docs = list(reader.run())
    stats = {k: v.total for k, v in reader.stats.stats.items()}
    rows = _ledger_rows(tmp_path / "ledger")
    assert stats["records/html"] == len(docs) + len(rows) >= 80
    assert {r["reason"].split(":")[0] for r in rows} <= {"truncated_record", "undecodable"}
    assert stats["records/revisit"] >= 1 and stats["records/request"] >= 1 and stats["records/metadata"] >= 1
    clueweb = [d for d in docs if d.metadata["file_path"].endswith("clueweb-quirk.warc.gz")]
    assert len(clueweb) >= 20 and {d.metadata["charset"] for d in clueweb} == {"euc_jp"}
    assert all("\ufffd" not in d.text for d in clueweb)


def _pages(count: int) -> list[tuple[str, str, bytes]]:
    return [(f"https://a.example/{i}", "text/html", f"<p>page {i}</p>".encode()) for i in range(count)]


def _member_boundaries(data: bytes) -> list[int]:
    """Offsets where each record's gzip member starts (warcio writes one member per record)."""
    from warcio.archiveiterator import ArchiveIterator

    records = ArchiveIterator(BytesIO(data))
    return [records.get_record_offset() for _ in records]


def _read_shared(tmp_path, name: str, world_size: int):
    """Every task of `world_size` reading the one file; (urls read, ledger rows)."""
    urls = []
    for rank in range(world_size):
        reader = WarcReader(str(tmp_path), [name])
        reader.ledger_folder = str(tmp_path / "ledger")
        urls += [d.metadata["url"] for d in reader.run(rank=rank, world_size=world_size)]
    return sorted(urls), _ledger_rows(tmp_path / "ledger")


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00\xff random bytes that are no record \x13\x37" * 20,
        gzip.compress(b"a gzip member that holds no WARC record\n" * 50),
        b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: nonsense\r\n\r\n",
    ],
    ids=["junk", "foreign-gzip-member", "broken-header"],
)
def test_warc_reading_resynchronises_after_damage_between_records(tmp_path, damage):
    data = _warc(_pages(20))
    cut = _member_boundaries(data)[8]
    (tmp_path / "damaged.warc.gz").write_bytes(data[:cut] + damage + data[cut:])
    urls, rows = _read_shared(tmp_path, "damaged.warc.gz", world_size=3)
    assert urls == sorted(url for url, _, _ in _pages(20))  # the 12 records after the damage too
    assert [r["reason"].split(":")[0] for r in rows] == ["damaged_region"]  # once, not once per task
    assert rows[0]["id"] == f"damaged.warc.gz@{cut}"
    assert all(byte not in rows[0]["reason"] for byte in ("random", "gzip member", "nonsense"))


def test_warc_overwritten_bytes_lose_only_the_record_they_hit(tmp_path):
    data = bytearray(_warc(_pages(20)))
    starts = _member_boundaries(bytes(data))
    data[starts[5] + 10 : starts[5] + 40] = b"\xaa" * 30  # inside record 5's compressed bytes
    (tmp_path / "hit.warc.gz").write_bytes(bytes(data))
    urls, rows = _read_shared(tmp_path, "hit.warc.gz", world_size=1)
    assert urls == sorted(url for i, (url, _, _) in enumerate(_pages(20)) if i != 5)
    assert [r["reason"].split(":")[0] for r in rows] == ["damaged_region"]


_BOMB_READER = """
import resource, sys
from pipeline.io.readers import WarcReader
reader = WarcReader(sys.argv[1], ["bomb.warc.gz"])
reader.ledger_folder = sys.argv[2]
docs = list(reader.run())
print(len(docs), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_a_gzip_bomb_is_stopped_at_max_record_bytes_without_holding_it(tmp_path):
    import subprocess
    import sys
    import zlib

    size = 1 << 30  # 1 GiB of zeros in ~1 MB of gzip
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:bomb>\r\n"
        "WARC-Target-URI: https://bomb.example/\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {size + 44}\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    ).encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip member
    block = bytes(1 << 24)
    member = [packer.compress(head)] + [packer.compress(block) for _ in range(size // len(block))]
    member += [packer.compress(b"\r\n\r\n"), packer.flush()]
    (tmp_path / "bomb.warc.gz").write_bytes(b"".join(member) + _warc(_pages(2)))
    assert (tmp_path / "bomb.warc.gz").stat().st_size < 5_000_000
    completed = subprocess.run(
        [sys.executable, "-c", _BOMB_READER, str(tmp_path), str(tmp_path / "ledger")],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    documents, peak_mb = map(int, completed.stdout.split())
    assert documents == 2  # the pages after the bomb are read
    assert [r["reason"].split(":")[0] for r in _ledger_rows(tmp_path / "ledger")] == ["PageTooLarge"]
    assert peak_mb < 2000, f"peak RSS {peak_mb} MB reading a 1 GiB record"


def test_jsonl_records_with_fields_of_the_wrong_type_are_quarantined_not_stringified(tmp_path):
    lines = [
        {"id": "ok", "text": "hello"},
        {"id": "media", "text": "has a media list datatrove cannot parse", "media": [1]},
        {"id": "nested", "text": {"nested": "value"}},
        {"id": None, "text": "null id"},
        {"id": 7, "text": "integer ids are fine"},
        {"id": ["a"], "text": "list id"},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    reader = AccountedJsonlReader(str(tmp_path), ["in.jsonl"], compression="infer")
    reader.ledger_folder = str(tmp_path / "ledger")
    docs = list(reader.run())
    assert [(d.id, d.text) for d in docs] == [
        ("ok", "hello"),
        ("media", "has a media list datatrove cannot parse"),
        ("7", "integer ids are fine"),
    ]
    rows = _ledger_rows(tmp_path / "ledger")
    assert [(r["id"], r["reason"]) for r in rows] == [
        ("nested", "bad_field: text is a dict, not a string"),
        ("in.jsonl/3", "bad_field: id is a NoneType, not a string"),
        ("in.jsonl/5", "bad_field: id is a list, not a string"),
    ]
    assert reader.stats["documents"].total + reader.stats["quarantined"].total == len(lines)


def test_a_jsonl_line_over_max_record_bytes_is_quarantined_and_the_next_line_read(tmp_path):
    lines = [{"id": "big", "text": "x" * 5000}, {"id": "next", "text": "small"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    reader = AccountedJsonlReader(str(tmp_path), ["in.jsonl"], compression="infer", max_record_bytes=1000)
    reader.ledger_folder = str(tmp_path / "ledger")
    assert [d.id for d in reader.run()] == ["next"]
    assert [r["reason"].split(":")[0] for r in _ledger_rows(tmp_path / "ledger")] == ["PageTooLarge"]


def test_a_file_that_is_not_parquet_is_an_unreadable_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.io.readers import AccountedParquetReader

    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one", "two"]}), tmp_path / "good.parquet")
    (tmp_path / "fake.parquet").write_text('{"id": "x", "text": "JSON, not Parquet"}\n')
    reader = AccountedParquetReader(str(tmp_path), ["fake.parquet", "good.parquet"])
    reader.ledger_folder = str(tmp_path / "ledger")
    assert [d.text for d in reader.run()] == ["one", "two"]
    rows = _ledger_rows(tmp_path / "ledger")
    assert [(r["id"], r["reason"].split(":")[0]) for r in rows] == [("fake.parquet/after-row--1", "unreadable_file")]
