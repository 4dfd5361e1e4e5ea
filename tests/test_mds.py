"""The training dataset end to end: tokenize (a BPE trained on the corpus), pack, shuffle, write MDS,
publish; then read it the ways training does."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer

from pipeline.config import parse_config
from pipeline.runner import run
from pipeline.shards import read_samples, verify_dataset
from stages.mds.shuffle import bucket_of, document_key
from tests.conftest import digest, read_jsonl_zst

ROOT = Path(__file__).resolve().parents[1]
MAX_SEQ_LEN = 128
BUCKETS = 4


def _config(sample: Path, out: Path, seed: int = 17, tasks: int = 4, **mds) -> dict:
    return {
        "input": {"format": "warc", "paths": [str(sample / "*.warc.gz")]},
        "stages": [
            {"stage": "normalize"},
            {"stage": "exact_dedup"},
            {"stage": "tokenize", "train": {"vocab_size": 1000}},
            {"stage": "mds", "max_seq_len": MAX_SEQ_LEN, "buckets": BUCKETS, "seed": seed, "shard_size": "64kb", **mds},
        ],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": tasks, "workers": 2},
    }


_RUNS: dict = {}


def _run(sample: Path, root: Path, name: str, **settings) -> Path:
    """Each distinct configuration runs once per test session."""
    if name not in _RUNS:
        out = root / name
        run(parse_config(_config(sample, out, **settings)), show_progress=False)
        _RUNS[name] = out
    return _RUNS[name]


@pytest.fixture(scope="module")
def runs(small_sample, tmp_path_factory):
    root = tmp_path_factory.mktemp("mds")
    return lambda name, **settings: _run(small_sample, root, name, **settings)


@pytest.fixture(scope="module")
def dataset(runs) -> Path:
    return runs("seed17-4tasks") / "mds"


def _shard_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _all_samples(folder: Path) -> list[np.ndarray]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return [s["tokens"] for s in read_samples(folder, manifest["samples"])]


def _packing_order(folder: Path) -> list[list[str]]:
    """Per bucket, its documents in packing order, from the provenance sidecar."""
    provenance = pq.read_table(folder / "provenance.parquet").to_pylist()
    orders = []
    for bucket in range(BUCKETS):
        rows = sorted((r for r in provenance if r["bucket"] == bucket), key=lambda r: r["packed"])
        order: list[str] = []
        for row in rows:
            order += [d for d in row["doc_ids"] if not order or d != order[-1]]
        orders.append(order)
    return orders


def test_run_publishes_a_complete_dataset(dataset):
    assert not (dataset.parent / "mds.partial").exists()
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["columns"] == "tokens" and manifest["dtype"] == "uint16"
    assert manifest["samples"] > 20
    assert verify_dataset(dataset).ok
    assert len(json.loads((dataset / "index.json").read_text())["shards"]) >= BUCKETS


def test_documents_are_shuffled_into_buckets_by_key_and_packed_in_key_order(dataset):
    kept = {d["id"]: d["text"] for d in read_jsonl_zst(dataset.parent / "data")}
    orders = _packing_order(dataset)
    for bucket, order in enumerate(orders):
        keys = [document_key(17, doc_id, kept[doc_id]) for doc_id in order]
        assert keys == sorted(keys)
        assert {bucket_of(k, BUCKETS) for k in keys} <= {bucket}
    # every kept document is packed, except those wholly inside a bucket's dropped tail
    packed = {d for order in orders for d in order}
    assert len(packed) >= len(kept) - BUCKETS * 2 and packed <= set(kept)


def test_the_dataset_folder_loads_as_a_transformers_tokenizer(dataset):
    """llm-foundry's `tokenizer: name: <folder>` goes through AutoTokenizer, which needs
    tokenizer_config.json beside tokenizer.json; the ids must be the ones the samples hold."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(str(dataset))  # a local folder: nothing is downloaded
    raw = Tokenizer.from_file(str(dataset / "tokenizer.json"))
    assert loaded.eos_token == "<|endoftext|>" and loaded.eos_token_id == raw.token_to_id("<|endoftext|>")
    assert loaded.pad_token_id == loaded.eos_token_id
    assert loaded.model_max_length == MAX_SEQ_LEN
    text = "The harbour lantern flickers beside 42 quiet windmills."
    assert loaded(text, add_special_tokens=False)["input_ids"] == raw.encode(text, add_special_tokens=False).ids
    assert loaded.decode(raw.encode(text).ids) == text


def test_samples_are_the_documents_tokens_with_eos_cut_every_max_seq_len(dataset):
    """Token for token, the samples (in packing order) are the kept documents encoded afresh, each
    followed by EOS; and decoding them gives the documents' text back exactly."""
    tokenizer = Tokenizer.from_file(str(dataset / "tokenizer.json"))
    eos = tokenizer.token_to_id("<|endoftext|>")
    kept = {d["id"]: d["text"] for d in read_jsonl_zst(dataset.parent / "data")}
    samples = _all_samples(dataset)
    provenance = pq.read_table(dataset / "provenance.parquet").to_pylist()
    for bucket, order in enumerate(_packing_order(dataset)):
        rows = sorted((r for r in provenance if r["bucket"] == bucket), key=lambda r: r["packed"])
        stream = np.concatenate([samples[r["sample"]] for r in rows]) if rows else np.empty(0, np.uint16)
        expected = np.concatenate([np.array(tokenizer.encode(kept[d]).ids + [eos]) for d in order])
        assert np.array_equal(stream, expected[: len(stream)])
        assert len(expected) - len(stream) < MAX_SEQ_LEN + max(len(tokenizer.encode(kept[order[-1]]).ids) + 1, 0)
        # decoding the complete documents in the stream gives their text back, byte for byte
        boundaries = np.flatnonzero(stream == eos)
        start = 0
        for doc_id, end in zip(order, boundaries, strict=False):
            decoded = tokenizer.decode(stream[start:end].tolist(), skip_special_tokens=False)
            assert digest(decoded) == digest(kept[doc_id]), doc_id
            start = end + 1


def test_tokens_written_plus_tail_equal_tokens_counted(dataset):
    manifest = json.loads((dataset / "manifest.json").read_text())
    report = json.loads((dataset.parent / "report.json").read_text())
    counted = sum(row["stats"].get("tokens", 0) for row in report["steps"] if row["step"].endswith("-tokenize"))
    assert counted == manifest["tokens_in"] > 0
    assert manifest["tokens_written"] + manifest["tail_dropped"] + manifest["truncated"] == counted
    assert manifest["tokens_written"] == manifest["samples"] * MAX_SEQ_LEN
    assert 0 <= manifest["tail_dropped"] < BUCKETS * MAX_SEQ_LEN
    assert report["training_data"]["tokens_written"] == manifest["tokens_written"]


def test_same_input_and_seed_give_identical_shards_whatever_the_task_count(runs, dataset):
    one_task = runs("seed17-1task", tasks=1) / "mds"
    assert _shard_files(one_task) == _shard_files(dataset)


def test_another_seed_gives_another_order(runs, dataset):
    other = runs("seed18-4tasks", seed=18) / "mds"
    assert _packing_order(other) != _packing_order(dataset)
    other_manifest = json.loads((other / "manifest.json").read_text())
    assert other_manifest["tokens_in"] == json.loads((dataset / "manifest.json").read_text())["tokens_in"]


def test_llm_foundry_reads_the_tokens_column(dataset):
    """What llm-foundry's StreamingTextDataset does with a sample (llmfoundry/data/text_data.py):
    prefer `text` (absent here), else take `tokens` as an ndarray, cut to max_seq_len, as int64; its
    ConcatenatedSequenceCollatorWrapper finds document boundaries at EOS."""
    from streaming import StreamingDataset

    manifest = json.loads((dataset / "manifest.json").read_text())
    eos = manifest["eos_id"]
    tokenizer = Tokenizer.from_file(str(dataset / "tokenizer.json"))
    kept = {d["id"]: d["text"] for d in read_jsonl_zst(dataset.parent / "data")}
    provenance = {r["sample"]: r for r in pq.read_table(dataset / "provenance.parquet").to_pylist()}
    lengths = {d: len(tokenizer.encode(t).ids) + 1 for d, t in kept.items()}
    ends_by_bucket = {}
    for bucket, order in enumerate(_packing_order(dataset)):
        ends_by_bucket[bucket] = np.cumsum([lengths[d] for d in order])

    data = StreamingDataset(local=str(dataset), batch_size=4, shuffle=False, num_canonical_nodes=1)
    assert len(data) == manifest["samples"]
    for index in range(len(data)):
        sample = data[index]
        assert "text" not in sample
        tokens = sample["tokens"]
        assert isinstance(tokens, np.ndarray) and tokens.dtype == np.uint16 and tokens.shape == (MAX_SEQ_LEN,)
        model_input = np.asarray(tokens[:MAX_SEQ_LEN].copy(), dtype=np.int64)
        row = provenance[index]
        lo = row["packed"] * MAX_SEQ_LEN
        ends = ends_by_bucket[row["bucket"]]
        expected_eos = [int(e - 1 - lo) for e in ends if lo < e <= lo + MAX_SEQ_LEN]
        assert np.flatnonzero(model_input == eos).tolist() == expected_eos


def _probe(dataset: Path, out: Path, *args: str) -> dict:
    subprocess.run(
        [sys.executable, "-m", "tests.helpers.loader_probe", str(dataset), str(out), *args],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return json.loads(out.read_text())


def test_an_epoch_yields_every_sample_exactly_once(dataset, tmp_path):
    expected = Counter(
        __import__("hashlib").blake2b(s.astype(np.int64).tobytes(), digest_size=8).hexdigest()
        for s in _all_samples(dataset)
    )
    for args in ([], ["--shuffle"]):
        seen = _probe(dataset, tmp_path / "epoch.json", *args)
        assert seen["dtypes"] == ["torch.int64"]
        assert Counter(seen["samples"]) == expected


@pytest.fixture(scope="module")
def order_without_workers(dataset, tmp_path_factory) -> list[str]:
    return _probe(dataset, tmp_path_factory.mktemp("order") / "epoch.json")["samples"]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_stopped_loader_resumes_on_exactly_the_next_sample(dataset, tmp_path, workers, order_without_workers):
    full = _probe(dataset, tmp_path / "full.json", "--workers", str(workers))["samples"]
    assert full == order_without_workers  # the same order with 0 and 2 loader workers
    state = tmp_path / "state.json"
    first = _probe(
        dataset, tmp_path / "first.json", "--workers", str(workers), "--stop-after", "3", "--save", str(state)
    )
    rest = _probe(dataset, tmp_path / "rest.json", "--workers", str(workers), "--resume", str(state))
    assert len(first["samples"]) == 3 * 8
    assert first["samples"] + rest["samples"] == full


def test_verify_names_a_corrupted_or_missing_shard(dataset, tmp_path, capsys):
    import shutil

    from pipeline.cli import main

    copy = tmp_path / "mds"
    shutil.copytree(dataset, copy)
    shards = sorted(copy.glob("bucket-*/*.zstd"))
    data = bytearray(shards[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    shards[0].write_bytes(bytes(data))
    shards[1].unlink()
    assert main(["verify", str(copy)]) == 1
    errors = capsys.readouterr().err
    assert f"{shards[0].relative_to(copy)}: xxh64 mismatch" in errors
    assert f"{shards[1].relative_to(copy)}: missing" in errors
    assert main(["verify", str(dataset)]) == 0


def test_verify_names_index_and_manifest_disagreement_and_survives_a_truncated_index(dataset, tmp_path, capsys):
    import shutil

    from pipeline.cli import main

    copy = tmp_path / "mds"
    shutil.copytree(dataset, copy)
    index = json.loads((copy / "index.json").read_text())
    dropped = index["shards"].pop()
    (copy / "index.json").write_text(json.dumps(index))
    assert main(["verify", str(copy)]) == 1
    errors = capsys.readouterr().err
    manifest = json.loads((copy / "manifest.json").read_text())
    assert (
        f"index.json lists {manifest['shards'] - 1} shard(s) holding {manifest['samples'] - dropped['samples']} "
        f"samples, but manifest.json says {manifest['shards']} shard(s) holding {manifest['samples']}"
    ) in errors

    (copy / "index.json").write_bytes((dataset / "index.json").read_bytes()[:200])
    assert main(["verify", str(copy)]) == 1
    assert "BAD index.json: damaged" in capsys.readouterr().err


def _damaged_copy(dataset: Path, folder: Path, damage: str) -> str:
    """A copy of the published dataset (without the raw shards an earlier load decompressed beside the
    .zstd files) with one shard damaged; returns that shard's name as index.json gives it."""
    import shutil

    shutil.copytree(dataset, folder, ignore=shutil.ignore_patterns("*.mds"))
    shard = sorted(folder.glob("bucket-*/*.zstd"))[1]
    data = shard.read_bytes()
    if damage == "flipped":
        shard.write_bytes(data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x01]) + data[len(data) // 2 + 1 :])
    elif damage == "truncated":
        shard.write_bytes(data[: len(data) // 2])
    else:
        shard.unlink()
    return str(shard.relative_to(folder))


def _epoch(folder: Path, **kwargs) -> int:
    from pipeline.loader import streaming_loader

    return sum(len(batch["tokens"]) for batch in streaming_loader(folder, batch_size=8, **kwargs))


@pytest.mark.parametrize("damage", ["flipped", "truncated", "deleted"])
def test_the_loader_refuses_a_damaged_shard_naming_it(dataset, tmp_path, damage):
    from pipeline.shards import DamagedDatasetError

    shard = _damaged_copy(dataset, tmp_path / "mds", damage)
    with pytest.raises(DamagedDatasetError) as raised:
        _epoch(tmp_path / "mds")  # StreamingDataset alone ends the epoch early here, without an error
    assert shard in str(raised.value)


def test_a_shard_corrupted_while_streaming_raises_naming_it_instead_of_ending_the_epoch(dataset, tmp_path):
    """Only sizes checked up front (as for a dataset too large to hash at every start), or a shard that
    arrives corrupt from `remote=`: streaming's own hash check fails in its background thread."""
    from pipeline.shards import DamagedDatasetError

    samples = json.loads((dataset / "manifest.json").read_text())["samples"]
    assert _epoch(dataset, check="sizes") == samples
    shard = _damaged_copy(dataset, tmp_path / "mds", "flipped")
    with pytest.raises(DamagedDatasetError, match=f"Checksum failure: .*{shard}"):
        _epoch(tmp_path / "mds", check="sizes")
    with pytest.raises(DamagedDatasetError, match=f"Checksum failure: .*{shard}"):
        _epoch(tmp_path / "cache", remote=str(tmp_path / "mds"))


def test_the_loader_streams_from_a_remote_into_an_empty_cache(dataset, tmp_path):
    samples = json.loads((dataset / "manifest.json").read_text())["samples"]
    assert _epoch(tmp_path / "cache", remote=str(dataset)) == samples
    assert _epoch(tmp_path / "cache", remote=str(dataset)) == samples  # again, from the filled cache


def test_a_decompressed_shard_damaged_in_the_cache_is_refused(dataset, tmp_path):
    """Streaming decompresses each shard beside its .zstd once, then reads only the raw file."""
    import shutil

    from pipeline.shards import DamagedDatasetError

    shutil.copytree(dataset, tmp_path / "mds", ignore=shutil.ignore_patterns("*.mds"))
    samples = json.loads((dataset / "manifest.json").read_text())["samples"]
    assert _epoch(tmp_path / "mds") == samples
    raw = sorted((tmp_path / "mds").glob("bucket-*/*.mds"))[0]
    data = bytearray(raw.read_bytes())
    data[-10] ^= 0x01
    raw.write_bytes(bytes(data))
    with pytest.raises(DamagedDatasetError, match=str(raw.relative_to(tmp_path / "mds"))):
        _epoch(tmp_path / "mds")


def test_inspect_shows_counts_and_decodes_the_first_sample(dataset, capsys):
    from pipeline.cli import main

    assert main(["inspect", str(dataset.parent), "--samples", "1", "--chars", "100000"]) == 0
    shown = capsys.readouterr().out
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert f"{manifest['samples']:,} in" in shown and "ndarray:uint16" in shown
    tokenizer = Tokenizer.from_file(str(dataset / "tokenizer.json"))
    first = tokenizer.decode(_all_samples(dataset)[0].tolist(), skip_special_tokens=False)
    first = first.rstrip("\n")
    assert digest(shown.rstrip("\n")[-len(first) :]) == digest(first)


def test_text_mode_writes_one_sample_per_document_with_metadata(small_sample, tmp_path):
    config = _config(small_sample, tmp_path / "out", columns="text", metadata_columns=["url"])
    del config["stages"][2]  # no tokenize stage needed
    run(parse_config(config), show_progress=False)
    dataset = tmp_path / "out" / "mds"
    kept = read_jsonl_zst(tmp_path / "out" / "data")
    manifest = json.loads((dataset / "manifest.json").read_text())
    samples = read_samples(dataset, manifest["samples"])
    assert sorted(digest(s["text"]) for s in samples) == sorted(digest(d["text"]) for d in kept)
    assert sorted(s["url"] for s in samples) == sorted(d["metadata"]["url"] for d in kept)
    assert manifest["samples"] == len(kept)


@pytest.mark.slow
def test_a_killed_writer_leaves_no_index_and_the_rerun_completes(small_sample, runs, dataset, tmp_path):
    import yaml

    out = tmp_path / "killed"
    config = _config(small_sample, out)
    config["stages"][3]["shard_size"] = "2kb"  # many small shards: the write pass lasts long enough to kill
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"]
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stderr=subprocess.DEVNULL)
    partial = out / "mds.partial"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(partial.glob("bucket-*/shard.*")):
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "mds" / "index.json").exists()
    assert subprocess.run(command, cwd=ROOT, stderr=subprocess.DEVNULL).returncode == 0
    assert verify_dataset(out / "mds").ok
    clean = runs("seed17-4tasks-2kb", shard_size="2kb") / "mds"
    assert _shard_files(out / "mds") == _shard_files(clean)


def test_a_publish_stopped_after_merging_the_index_completes_on_rerun(small_sample, tmp_path):
    import shutil

    out = tmp_path / "stopped"
    run(parse_config(_config(small_sample, out)), show_progress=False)
    published = _shard_files(out / "mds")  # not the shared `dataset`: reading it decompresses shards beside it
    # The state a publish killed between merging the buckets' indexes and its final rename leaves behind.
    (out / "mds").rename(out / "mds.partial")
    for name in ("manifest.json", "provenance.parquet", "tokenizer.json", "tokenizer_config.json"):
        (out / "mds.partial" / name).unlink()
    publish_logs = next((out / "logs").glob("*-mds.publish"))
    shutil.rmtree(publish_logs / "completions")

    run(parse_config(_config(small_sample, out)), show_progress=False)

    assert _shard_files(out / "mds") == published
    assert verify_dataset(out / "mds").ok


def test_the_shipped_gpt2_config_runs_with_the_tokenizer_file(small_sample, tmp_path, monkeypatch):
    from pipeline.config import load_config

    config_path = ROOT / "configs" / "gpt2-tokenizer.yaml"
    monkeypatch.chdir(ROOT)  # the config's paths are relative to the repository root
    stages = __import__("yaml").safe_load(config_path.read_text())["stages"]
    tokenizer = ROOT / next(s["tokenizer"] for s in stages if s["stage"] == "tokenize")
    if not tokenizer.exists():
        pytest.skip(f"{tokenizer} is absent (the shared evaluation data is not beside this checkout)")
    overrides = {"input.paths": [str(small_sample / "*.warc.gz")], "output.folder": str(tmp_path / "out")}
    run(load_config(config_path, overrides=overrides), show_progress=False)
    manifest = json.loads((tmp_path / "out" / "mds" / "manifest.json").read_text())
    assert (manifest["vocab_size"], manifest["eos_id"], manifest["dtype"]) == (50257, 50256, "uint16")
    assert verify_dataset(tmp_path / "out" / "mds").ok


def test_the_writer_loads_without_streamings_dataset_side_which_still_imports_afterwards():
    script = """
import sys
from stages.mds.writer_import import streaming_module
merge_index = streaming_module("streaming.base.util").merge_index  # util first: the order with a cycle
writer = streaming_module("streaming.base.format.mds.writer")
heavy = [m for m in ("streaming.base.dataset", "streaming.text", "transformers") if m in sys.modules]
import streaming
from streaming import StreamingDataset
print(heavy, streaming.MDSWriter is writer.MDSWriter, StreamingDataset.__name__, callable(merge_index))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split("\n")[-2] == "[] True StreamingDataset True"


@pytest.mark.parametrize(("tail", "warned"), [(5, False), (50, True)])
def test_the_report_warns_when_bucket_tails_lose_over_one_percent_of_the_tokens(tmp_path, tail, warned):
    from stages.base import ReportContext
    from stages.mds.report import training_data_section

    (tmp_path / "mds").mkdir()
    manifest = {"samples": 3, "shards": 1, "compression": "zstd", "documents": 9, "seed": 1, "buckets": 4,
                "columns": "tokens", "tokens_in": 1000, "max_seq_len": 256, "dtype": "uint16",
                "split_documents": True, "tokens_written": 1000 - tail, "tail_dropped": tail, "truncated": 0,
                "padding": 0}  # fmt: skip
    (tmp_path / "mds" / "manifest.json").write_text(json.dumps(manifest))
    context = ReportContext([], tmp_path, tmp_path / "data", "jsonl")
    _, markdown, data = training_data_section(context)
    assert ("**Warning:** 5.00% of the tokens were dropped at bucket tails" in markdown) is warned
    assert bool(data.get("warnings")) is warned
