"""Near-duplicate removal: datasketch compatibility, and precision/recall against exact all-pairs
Jaccard on the generated crawl."""

import itertools
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from pipeline.config import ConfigError, parse_config
from pipeline.runner import run
from pipeline.shared_data import shared_data_folder
from stages.dedup.bands import catch_probability, default_bands_rows, exact_jaccard
from stages.dedup.find import bucket_pairs
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


def _write_jsonl(path, docs):
    path.write_text("".join(json.dumps({"id": doc_id, "text": text}) + "\n" for doc_id, text in docs))


def _dedup_config(input_path, out, index):
    return {
        "input": {"format": "jsonl", "paths": [str(input_path)]},
        "stages": [{"stage": "minhash_dedup", "index": index}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": 2, "workers": 2},
    }


def test_a_later_run_removes_exactly_the_edited_copies_of_an_indexed_run(tmp_path):
    import random

    from pipeline.sample.prose import Prose

    rng = random.Random(11)
    prose = Prose(rng, "en")
    originals = [(f"a{i}", "\n\n".join(prose.paragraph() for _ in range(6))) for i in range(60)]
    _write_jsonl(tmp_path / "a.jsonl", originals)
    index = tmp_path / "index"
    run(
        parse_config(_dedup_config(tmp_path / "a.jsonl", tmp_path / "run-a", {"save": str(index)})), show_progress=False
    )
    assert (index / "index.parquet").exists()

    def edited(text):  # about 1 word in 100 replaced: Jaccard of 5-gram sets around 0.9
        words = text.split(" ")
        for position in rng.sample(range(len(words)), max(1, len(words) // 100)):
            words[position] = "edited"
        return " ".join(words)

    copies = [(f"b-copy-{doc_id}", edited(text)) for doc_id, text in originals[:20]]
    new = [(f"b-new-{i}", "\n\n".join(prose.paragraph() for _ in range(6))) for i in range(20)]
    _write_jsonl(tmp_path / "b.jsonl", copies + new)
    config = _dedup_config(tmp_path / "b.jsonl", tmp_path / "run-b", {"against": [str(index)], "only_against": True})
    result = run(parse_config(config), show_progress=False)
    dropped = pq.read_table(tmp_path / "run-b" / "work" / "01-minhash_dedup" / "duplicates.parquet").to_pylist()
    assert sorted(row["id"] for row in dropped) == sorted(doc_id for doc_id, _ in copies)
    assert all(row["duplicate_of"] == row["id"].removeprefix("b-copy-") for row in dropped)
    assert result.accounting.kept == len(new)


def test_an_index_built_with_other_settings_is_refused(tmp_path):
    _write_jsonl(tmp_path / "a.jsonl", [("a", "some text " * 20)])
    index = tmp_path / "index"
    run(parse_config(_dedup_config(tmp_path / "a.jsonl", tmp_path / "a", {"save": str(index)})), show_progress=False)
    config = _dedup_config(tmp_path / "a.jsonl", tmp_path / "b", {"against": [str(index)]})
    config["stages"][0]["num_perm"] = 64
    with pytest.raises(ConfigError, match=r"stages.0 \(minhash_dedup\): index .* signatures would not compare"):
        run(parse_config(config), show_progress=False)
    config["stages"][0]["index"] = {"against": [str(tmp_path / "nowhere")]}
    with pytest.raises(ConfigError, match="is not a minhash_dedup index"):
        run(parse_config(config), show_progress=False)


WEB_TEXT = shared_data_folder() / "web-text"


@pytest.mark.skipif(not WEB_TEXT.exists(), reason=f"real web text not found under {WEB_TEXT}")
def test_precision_and_recall_on_real_web_text_with_planted_edits(tmp_path):
    """Common Crawl text (with its own duplicates) as the host; edited copies planted; the pairs found
    are compared with exact all-pairs Jaccard of the shingle sets at 0.8."""
    import gzip
    import random

    rng = random.Random(5)
    rows = []
    for path in sorted(WEB_TEXT.glob("*.jsonl.gz")):
        rows += [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    docs = [(f"web-{i}", row["text"]) for i, row in enumerate(rows)]
    planted = []
    for doc_id, text in rng.sample([d for d in docs if len(d[1].split()) >= 300], 40):
        words = text.split(" ")
        for position in rng.sample(range(len(words)), max(1, len(words) // 200)):
            words[position] = "edited"
        planted.append((f"copy-of-{doc_id}", " ".join(words)))
    _write_jsonl(tmp_path / "web.jsonl", docs + planted)
    config = _dedup_config(tmp_path / "web.jsonl", tmp_path / "out", {})
    result = run(parse_config(config), show_progress=False)
    assert result.accounting.balanced
    folder = tmp_path / "out" / "work" / "01-minhash_dedup"
    table = pq.read_table(folder / "signatures").to_pylist()
    shingles = {row["id"]: np.frombuffer(row["shingles"], dtype=np.uint32) for row in table}
    nonempty = sorted(i for i, s in shingles.items() if len(s))
    truth = {
        frozenset((a, b))
        for a, b in itertools.combinations(nonempty, 2)
        if exact_jaccard(shingles[a], shingles[b]) >= 0.8
    }
    clusters: dict[str, set[str]] = {}
    for row in pq.read_table(folder / "duplicates.parquet").to_pylist():
        clusters.setdefault(row["duplicate_of"], {row["duplicate_of"]}).add(row["id"])
    found = {frozenset(p) for members in clusters.values() for p in itertools.combinations(sorted(members), 2)}
    found = {pair for pair in found if all(len(shingles[i]) for i in pair)}
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    print(f"web-text: {len(truth)} true pairs, {len(found)} found, precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.95


def test_the_report_shows_clusters_and_the_s_curve_without_text(dedup_run):
    out, _ = dedup_run
    report = json.loads((out / "report.json").read_text())
    section = report["near_duplicates"]["04-minhash_dedup"]
    assert section["duplicates"] > 0 and section["largest_clusters"]
    markdown = (out / "report.md").read_text()
    assert "## Near-duplicates (MinHash)" in markdown and "chance a pair is proposed" in markdown
    assert (out / "near_duplicates.png").stat().st_size > 1000
    assert "excerpt" not in section["largest_clusters"][0]  # no pii stage ran first: ids only
    assert "Excerpts appear when a `pii` stage that scrubs names (PERSON) runs before this one" in markdown


def test_the_largest_clusters_get_excerpts_after_personal_data_is_scrubbed(small_sample, tmp_path):
    config = _config(small_sample, tmp_path / "out")
    config["stages"] = [{"stage": "html"}, {"stage": "normalize"}, {"stage": "pii"}, {"stage": "minhash_dedup"}]
    run(parse_config(config), show_progress=False)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (section,) = report["near_duplicates"].values()
    clusters = section["largest_clusters"]
    assert clusters and all(len(c["excerpt"]) > 40 for c in clusters)
    kept = {d["id"]: " ".join(d["text"].split()) for d in read_jsonl_zst(tmp_path / "out" / "data")}
    assert all(kept[c["kept"]].startswith(c["excerpt"].rstrip("…")) for c in clusters)
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert markdown.count("  > ") == len(clusters)


def test_no_excerpts_when_the_pii_stage_leaves_names_in(small_sample, tmp_path):
    config = _config(small_sample, tmp_path / "out")
    pii = {"stage": "pii", "model": None}  # identifiers only: every name would be quoted
    config["stages"] = [{"stage": "html"}, {"stage": "normalize"}, pii, {"stage": "minhash_dedup"}]
    run(parse_config(config), show_progress=False)
    (section,) = json.loads((tmp_path / "out" / "report.json").read_text())["near_duplicates"].values()
    assert section["largest_clusters"] and not any("excerpt" in c for c in section["largest_clusters"])


def _words(rng, count, prefix="w"):
    return [f"{prefix}{rng.randrange(5000)}" for _ in range(count)]


def _edit(words, positions, tag):
    edited = list(words)
    for position in positions:
        edited[position] = f"{tag}{position}"
    return edited


def _run_dedup(tmp_path, docs, name="out", stage=None, files=1, tasks=2):
    inputs = []
    for part in range(files):
        inputs.append(tmp_path / f"in{part}.jsonl")
        _write_jsonl(inputs[-1], docs[part::files])
    config = {
        "input": {"format": "jsonl", "paths": [str(p) for p in inputs]},
        "stages": [{"stage": "minhash_dedup", **(stage or {})}],
        "output": {"folder": str(tmp_path / name), "format": "jsonl"},
        "executor": {"tasks": tasks, "workers": 2},
    }
    result = run(parse_config(config), show_progress=False)
    assert result.accounting.balanced
    duplicates = pq.read_table(tmp_path / name / "work" / "01-minhash_dedup" / "duplicates.parquet").to_pylist()
    kept = sorted(d["id"] for d in read_jsonl_zst(tmp_path / name / "data"))
    return kept, {row["id"]: row for row in duplicates}


def _shingles(text):
    return np.unique(MinHasher().shingle_hashes(text))


def test_a_chain_is_split_so_no_document_goes_for_a_keeper_below_the_threshold(tmp_path):
    """a~b and b~c at Jaccard ~0.85, a and c at ~0.74: connected components would drop c for a."""
    import random

    rng = random.Random(3)
    a = _words(rng, 400)
    b = _edit(a, range(10, 70, 10), "b")  # 6 words: ~30 of ~396 shingles each side
    c = _edit(b, range(200, 260, 10), "c")
    texts = {"a": " ".join(a), "b": " ".join(b), "c": " ".join(c)}
    assert exact_jaccard(_shingles(texts["a"]), _shingles(texts["c"])) < 0.8
    assert min(exact_jaccard(_shingles(texts[x]), _shingles(texts[y])) for x, y in ("ab", "bc")) >= 0.8
    noise = [(f"n{i}", " ".join(_words(rng, 300))) for i in range(20)]
    kept, dropped = _run_dedup(tmp_path, [*texts.items(), *noise])
    assert set(dropped) == {"b"} and dropped["b"]["duplicate_of"] == "a"
    assert {"a", "c"} <= set(kept)
    assert dropped["b"]["jaccard"] == pytest.approx(exact_jaccard(_shingles(texts["a"]), _shingles(texts["b"])))


def test_a_bucket_of_more_than_a_hundred_documents_keeps_one_and_verifies_each_against_it(tmp_path):
    """150 copies share every bucket; the keeper (smallest id) is read last. Every copy is compared with
    it, not only with the bucket's first row, and a non-copy in the file stays."""
    import random

    rng = random.Random(4)
    base = _words(rng, 300)
    copies = [(f"copy{i:03d}", " ".join(_edit(base, [i % 290 + 5], "x") if i % 3 else base)) for i in range(1, 150)]
    docs = copies + [("copy000", " ".join(base)), ("other", " ".join(_words(rng, 300)))]
    kept, dropped = _run_dedup(tmp_path, docs)
    assert kept == ["copy000", "other"]
    assert len(dropped) == 149 and {row["duplicate_of"] for row in dropped.values()} == {"copy000"}
    assert min(row["jaccard"] for row in dropped.values()) >= 0.8


def test_bucket_pairs_pair_each_member_with_the_first_hundred_of_its_bucket():
    buckets = np.array([1] * 150 + [2, 2] + [3], dtype=np.uint64)
    better, worse = bucket_pairs(buckets)
    assert len(better) == sum(min(j, 100) for j in range(150)) + 1
    assert (better < worse).all() and set(better[worse < 150].tolist()) == set(range(100))
    assert (150, 151) in set(zip(better.tolist(), worse.tolist(), strict=True))


def test_an_unrelated_document_sharing_an_id_with_a_duplicate_stays(tmp_path):
    """Two files reuse the id "same": one of those documents is a copy, the other is unrelated. Only the
    copy goes; a repeat within one file is renamed and counted."""
    import random

    rng = random.Random(5)
    original = " ".join(_words(rng, 300))
    docs = [
        ("orig", original),
        ("same", original + " tail"),  # a near-copy: dropped for "orig"
        ("same", " ".join(_words(rng, 300))),  # unrelated, other file, same id
        ("again", " ".join(_words(rng, 300))),
        ("x1", " ".join(_words(rng, 300))),
        ("again", " ".join(_words(rng, 300))),  # same file as the first "again" (files=2: every other row)
    ]
    kept, dropped = _run_dedup(tmp_path, docs, files=2)
    assert list(dropped) == ["same"] and dropped["same"]["duplicate_of"] == "orig"
    assert kept == ["again", "again#2", "orig", "same", "x1"]
    stats = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "duplicate_ids" in json.dumps(stats)


def test_one_four_and_eight_find_tasks_write_byte_identical_documents(tmp_path):
    import random

    rng = random.Random(6)
    docs = []
    for i in range(120):
        words = _words(rng, 250)
        docs.append((f"d{i:03d}", " ".join(words)))
        if i % 3 == 0:  # copies at Jaccard from about 0.7 to 0.95
            docs.append((f"e{i:03d}", " ".join(_edit(words, range(3, 3 + 10 * (1 + i % 8), 10), "e"))))
    outputs = {}
    for tasks in (1, 4, 8):
        kept, dropped = _run_dedup(tmp_path, docs, name=f"tasks{tasks}", stage={"find_tasks": tasks}, files=3)
        data = tmp_path / f"tasks{tasks}" / "data"
        outputs[tasks] = [p.read_bytes() for p in sorted(data.glob("*.jsonl.zst"))]
        assert len(dropped) > 10
    assert outputs[1] == outputs[4] == outputs[8]


def test_the_default_bands_catch_a_pair_at_the_threshold_with_probability_995():
    bands, rows = default_bands_rows(0.8, 128)
    assert (bands, rows) == (21, 6) and bands * rows <= 128
    assert catch_probability(0.8, bands, rows) >= 0.995 > catch_probability(0.8, 128 // (rows + 1), rows + 1)
