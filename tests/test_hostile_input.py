"""A hostile corpus, generated here, through every stage: each record is processed or quarantined with a
reason, the run finishes, read = kept + dropped + quarantined, nothing hangs, memory stays bounded."""

import gzip
import json
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
import zstandard

from pipeline.sample.prose import Prose
from tests.helpers.configs import small_default_config

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 3000  # peak RSS of the largest process of the run


def _page(rng, paragraphs=5) -> str:
    prose = Prose(rng, "en")
    body = "".join(f"<p>{prose.paragraph()}</p>" for _ in range(paragraphs))
    return f"<html><head><title>{prose.title()}</title></head><body><article>{body}</article></body></html>"


def _line(doc_id: str, text: str) -> bytes:
    return json.dumps({"id": doc_id, "text": text}).encode() + b"\n"


def _hostile_jsonl(folder: Path, rng: random.Random) -> dict[str, int]:
    """Writes the corpus; returns how many lines each file holds (what the reader must account for)."""
    lines = [_line(f"good-{i}", _page(rng)) for i in range(30)]
    lines += [
        b'{"id": "bad-utf8", "text": "caf\xe9 cr\xe8me \xff\xfe"}\n',  # latin-1 bytes in a UTF-8 file
        '{"id": "cp1252", "text": "\u201csmart quotes\u201d"}\n'.encode("cp1252", errors="replace"),
        b'{"id": "unterminated", "text": "no end\n',
        b"[1, 2, 3]\n",
        b"null\n",
        b'{"id": "no-text"}\n',
        _line("nul-bytes", "<p>" + "text\u0000with\u0000nuls " * 200 + "</p>"),
        _line("long-line", "<p>" + "word " * 1_000_000 + "</p>"),  # 5 MB on one line: over max_bytes
        _line("fifty-mb", "<p>" + ("lorem ipsum dolor " * 3_000_000) + "</p>"),  # 54 MB
        _line("deep-nesting", "<div>" * 60_000 + "deep text" + "</div>" * 60_000),
        _line("binary", "".join(chr(rng.randrange(256)) for _ in range(50_000))),
        _line("empty", ""),
        _line("whitespace", "   \n\t \r\n   "),
        _line(
            "only-personal-data",
            "<p>"
            + " ".join(
                [
                    "jane.roe@mailbox.org",
                    "+44 20 7946 0958",
                    "4111 1111 1111 1111",
                    "DE89 3704 0044 0532 0130 00",
                    "81.2.69.160",
                    "max@inbox.co.uk",
                    "123-45-6789",
                ]
            )
            + "</p>",
        ),  # fmt: skip
        _line(
            "article-full-of-personal-data",
            _page(rng).replace(
                "</article>",
                "<p>"
                + " ".join([f"Write to person{i}@mailbox.org or call +44 20 7946 09{i:02d} today." for i in range(8)])
                + "</p></article>",
            ),
        ),
        _line("duplicate", _page(random.Random(99))),
        _line("duplicate-again", _page(random.Random(99))),
    ]
    (folder / "hostile.jsonl").write_bytes(b"".join(lines))
    good = b"".join(_line(f"gz-{i}", _page(rng)) for i in range(20))
    (folder / "truncated.jsonl.gz").write_bytes(gzip.compress(good)[: len(gzip.compress(good)) * 6 // 10])
    compressed = zstandard.ZstdCompressor().compress(good.replace(b'"gz-', b'"zst-'))
    (folder / "truncated.jsonl.zst").write_bytes(compressed[: len(compressed) * 6 // 10])
    return {"hostile.jsonl": len(lines)}


def _config(inputs: list[Path], out: Path, input_format: str) -> dict:
    return small_default_config(inputs, input_format, out, tasks=3, workers=2, vocab_size=512, max_seq_len=128)


def _run(config: dict, folder: Path) -> tuple[dict, int]:
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # no hang: every page has a time limit
    )
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((Path(config["output"]["folder"]) / "report.json").read_text()), peak_mb


def _reasons(report: dict) -> set[str]:
    rows = report["accounting"]["quarantined_by_reason"] + report["accounting"]["dropped_by_reason"]
    return {row["reason"].split(":")[0] for row in rows}


@pytest.mark.slow
def test_a_hostile_jsonl_corpus_is_accounted_for_record_by_record(tmp_path):
    lines = _hostile_jsonl(tmp_path, random.Random(0))
    inputs = sorted(tmp_path.glob("*.jsonl*"))
    report, peak_mb = _run(_config(inputs, tmp_path / "out", "jsonl"), tmp_path)
    accounting = report["accounting"]
    assert accounting["balanced"]
    # Every line of the uncompressed file is one record; the truncated files give what they hold.
    assert accounting["read"] >= lines["hostile.jsonl"] + 2  # + at least the end of each truncated file
    reasons = _reasons(report)
    expected = {"malformed_json", "unreadable_file", "PageTooLarge", "no_main_content", "too_many_findings"}
    assert expected <= reasons, f"missing: {expected - reasons}"
    assert accounting["kept"] >= 30
    print(f"hostile jsonl corpus: peak RSS {peak_mb} MB, reasons {sorted(reasons)}")
    assert peak_mb < MEMORY_LIMIT_MB


@pytest.mark.slow
def test_a_warc_with_a_corrupt_record_and_binary_pages(tmp_path):
    from pipeline.sample import generate_sample

    generate_sample(tmp_path / "sample", pages=40, seed=5, files=2)
    warcs = sorted((tmp_path / "sample").glob("*.warc.gz"))
    data = bytearray(warcs[0].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(random.Random(1).randrange(256) for _ in range(64))
    warcs[0].write_bytes(bytes(data))
    report, peak_mb = _run(_config(warcs, tmp_path / "out", "warc"), tmp_path)
    accounting = report["accounting"]
    assert accounting["balanced"]
    # Only the record the bytes hit is lost; reading resumes at the next record, and the region is
    # quarantined once although three tasks share the two files.
    assert report["input_records"]["html"] == 39
    regions = [row for row in accounting["quarantined_by_reason"] if row["reason"].startswith("damaged_region")]
    assert sum(row["documents"] for row in regions) == 1 and accounting["read"] == 40
    assert accounting["kept"] >= 20
    assert peak_mb < MEMORY_LIMIT_MB
