"""The url_filter stage: datatrove's URLFilter with its bundled UT1 lists, the run's own lists, offline."""

import json
from pathlib import Path

from datatrove.data import Document

from pipeline.config import parse_config
from pipeline.runner import run
from stages.base import StageContext
from stages.url_filter import UrlFilterOptions


def _step(tmp_path, **options):
    context = StageContext(work_folder=str(tmp_path / "work"), output_folder=str(tmp_path), tasks=1)
    (step,) = UrlFilterOptions(**options).build(context)
    step.ledger_folder = str(tmp_path / "accounting")
    return step


def _outcomes(step, urls):
    docs = [Document(text="some text", id=str(i), metadata={"url": url} if url else {}) for i, url in enumerate(urls)]
    kept = {doc.id for doc in step.run(iter(docs))}
    reasons = {}
    for path in Path(step.ledger_folder).rglob("*.jsonl"):
        reasons.update({row["id"]: row["reason"] for row in map(json.loads, path.read_text().splitlines())})
    return ["kept" if str(i) in kept else reasons[str(i)] for i in range(len(urls))]


def test_the_runs_own_lists_block_and_allow_by_host(tmp_path):
    step = _step(
        tmp_path, blocklists=False, block_domains=["Spam.example"], allow_domains=["good.spam.example"],
        block_words=["casino"],
    )  # fmt: skip
    assert _outcomes(step, [
        "https://spam.example/a",  # listed
        "https://www.spam.example/b",  # a subdomain of a listed domain
        "https://good.spam.example/c",  # allowed, although under a blocked domain
        "https://notspam.example/d",  # another domain that merely ends the same
        "https://news.example/best-casino-bonus",  # a blocked word
        None,  # no URL: kept and counted
    ]) == ["url/block_domains", "url/block_domains", "kept", "kept", "url/hard_blacklisted", "kept"]  # fmt: skip
    assert step.stats["allowed"].total == 1 and step.stats["no_url"].total == 1


def test_the_bundled_ut1_lists_block_a_listed_domain_offline(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket, "create_connection", no_network)
    step = _step(tmp_path)
    assert _outcomes(step, ["https://www.0001casino.com/play", "https://en.wikipedia.org/wiki/Casino"]) == [
        "url/domain",
        "kept",
    ]


def test_documents_without_a_url_can_be_dropped_with_a_reason(tmp_path):
    assert _outcomes(_step(tmp_path, blocklists=False, missing_url="drop"), [None]) == ["url/missing"]


def test_a_run_accounts_for_every_url_drop(small_sample, tmp_path):
    from tests.conftest import read_jsonl_zst

    blocked = "tinkerblog.example"
    config = {
        "input": {"format": "warc", "paths": [str(small_sample / "*.warc.gz")]},
        "stages": [{"stage": "url_filter", "blocklists": False, "block_domains": [blocked]}],
        "output": {"folder": str(tmp_path / "out"), "format": "jsonl"},
        "executor": {"tasks": 2, "workers": 1},
    }
    accounting = run(parse_config(config), show_progress=False).accounting
    kept = read_jsonl_zst(tmp_path / "out" / "data")
    hosts = {doc["metadata"]["url"].split("/")[2] for doc in kept}
    assert blocked not in hosts and len(hosts) == 3
    dropped = {row["reason"]: row["documents"] for row in accounting.to_dict()["dropped_by_reason"]}
    assert dropped["url/block_domains"] > 0 and accounting.balanced
    assert accounting.read == len(kept) + dropped["url/block_domains"] + accounting.quarantined_total
