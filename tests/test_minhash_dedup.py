"""Near-duplicate removal: datasketch compatibility, and precision/recall against exact all-pairs
Jaccard on the generated crawl."""

import itertools
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from pipeline.config import parse_config
from pipeline.runner import run
from stages.dedup.lsh import exact_jaccard
from stages.dedup.signature import MinHasher, ShingleSettings
from tests.conftest import read_jsonl_zst

TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank today!",
    "The quick brown fox jumps over the lazy cat near the river bank today",
    "short one",
    "",
    "Ünïcödé 日本語 text, with marks: naïve café.",
]


@pytest.mark.parametrize("settings", [ShingleSettings(), ShingleSettings("char", 7), ShingleSettings("word", 3, True)])
def test_signatures_equal_datasketchs_on_the_same_shingles(settings):
    hasher = MinHasher(num_perm=128, seed=7, shingles=settings)
    signatures = hasher.signatures(TEXTS)
    for text, signature in zip(TEXTS, signatures, strict=True):
        reference = MinHash(num_perm=128, seed=7, hashfunc=int)
        reference.update_batch([int(h) for h in hasher.shingle_hashes(text)])
        assert np.array_equal(reference.hashvalues, signature)
    assert hasher.lean(signatures[0]).jaccard(hasher.lean(signatures[1])) == pytest.approx(
        MinHash(num_perm=128, seed=7, hashvalues=signatures[0], scheme="affine32").jaccard(
            MinHash(num_perm=128, seed=7, hashvalues=signatures[1], scheme="affine32")
        )
    )


def _config(sample, out, tasks=4):
    return {
        "input": {"format": "warc", "paths": [str(sample / "*.warc.gz")]},
        "stages": [{"stage": "html"}, {"stage": "normalize"}, {"stage": "exact_dedup"}, {"stage": "minhash_dedup"}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": tasks, "workers": 2},
    }


@pytest.fixture(scope="module")
def dedup_run(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("minhash") / "out"
    result = run(parse_config(_config(small_sample, out)), show_progress=False)
    return out, result


def test_duplicate_pairs_match_exact_all_pairs_jaccard(dedup_run):
    out, result = dedup_run
    assert result.accounting.balanced
    folder = out / "work" / "04-minhash_dedup"
    table = pq.read_table(folder / "signatures").to_pylist()
    shingles = {row["id"]: np.frombuffer(row["shingles"], dtype=np.uint32) for row in table}
    truth = {
        frozenset((a, b))
        for a, b in itertools.combinations(sorted(shingles), 2)
        if exact_jaccard(shingles[a], shingles[b]) >= 0.8
    }
    duplicates = pq.read_table(folder / "duplicates.parquet").to_pylist()
    clusters: dict[str, set[str]] = {}
    for row in duplicates:
        clusters.setdefault(row["duplicate_of"], {row["duplicate_of"]}).add(row["id"])
    found = {frozenset(pair) for members in clusters.values() for pair in itertools.combinations(sorted(members), 2)}
    assert truth, "the sample should hold near-duplicates"
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, len(truth))
    summary = json.loads((folder / "summary.json").read_text())
    assert (
        summary["duplicates"]
        == len(duplicates)
        == sum(n for (_, r), n in result.accounting.dropped.items() if r == "near_duplicate")
    )


def test_one_and_four_tasks_keep_the_same_documents(small_sample, dedup_run, tmp_path):
    out, _ = dedup_run
    run(parse_config(_config(small_sample, tmp_path / "one", tasks=1)), show_progress=False)
    assert sorted(d["id"] for d in read_jsonl_zst(tmp_path / "one" / "data")) == sorted(
        d["id"] for d in read_jsonl_zst(out / "data")
    )


def test_the_sharded_path_removes_the_same_ids_as_the_in_memory_path(small_sample, dedup_run, tmp_path):
    out, _ = dedup_run
    config = _config(small_sample, tmp_path / "sharded")
    config["stages"][3]["mode"] = "sharded"
    result = run(parse_config(config), show_progress=False)
    assert result.accounting.balanced
    assert len(list((tmp_path / "sharded" / "work" / "04-minhash_dedup" / "pairs").glob("*.parquet"))) == 9

    def ids(folder):
        table = pq.read_table(folder / "work" / "04-minhash_dedup" / "duplicates.parquet")
        return sorted(table.column("id").to_pylist())

    assert ids(tmp_path / "sharded") == ids(out) and ids(out)
