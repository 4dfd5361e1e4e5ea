"""Looking at a written MDS dataset: `inspect` summarises it and decodes its first samples;
`verify` checks every shard file against the sizes and hashes in index.json."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.loader import read_manifest


@dataclass
class Verification:
    shards: int = 0
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)  # one line per bad or missing file

    @property
    def ok(self) -> bool:
        return not self.problems


def _index(folder: Path) -> dict:
    path = folder / "index.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{folder} has no index.json: not an MDS dataset, or its run did not finish "
            "(an unfinished dataset stays in mds.partial/ until every writer is done)"
        )
    return json.loads(path.read_text())


def verify_dataset(folder: str | os.PathLike) -> Verification:
    """Each shard's compressed file (or raw file when uncompressed) must exist with the recorded size
    and hashes; a raw file that the loader decompressed beside it is checked too."""
    from streaming.base.hashing import get_hash

    folder = Path(folder)
    result = Verification()
    for shard in _index(folder)["shards"]:
        result.shards += 1
        files = [shard[key] for key in ("zip_data", "raw_data") if shard.get(key)]
        required = files[0]  # the compressed file when there is one: that is what is published
        for info in files:
            path = folder / info["basename"]
            if not path.exists():
                if info is required:
                    result.problems.append(f"{info['basename']}: missing")
                continue
            data = path.read_bytes()
            result.files_checked += 1
            if len(data) != info["bytes"]:
                result.problems.append(f"{info['basename']}: {len(data)} bytes, index says {info['bytes']}")
                continue
            for algo, expected in (info.get("hashes") or {}).items():
                if get_hash(algo, data) != expected:
                    result.problems.append(f"{info['basename']}: {algo} mismatch")
    return result


def read_samples(folder: str | os.PathLike, count: int) -> list[dict]:
    """The first `count` samples in index order, decoded by streaming's own shard readers."""
    from streaming.base.compression import decompress
    from streaming.base.format import reader_from_json

    folder = Path(folder)
    samples: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        for shard in _index(folder)["shards"]:
            if len(samples) >= count:
                break
            raw_path = Path(scratch, shard["raw_data"]["basename"])
            raw_path.parent.mkdir(parents=True, exist_ok=True)
            if shard.get("zip_data"):
                zipped = (folder / shard["zip_data"]["basename"]).read_bytes()
                raw_path.write_bytes(decompress(shard["compression"], zipped))
            else:
                shutil.copyfile(folder / shard["raw_data"]["basename"], raw_path)
            reader = reader_from_json(scratch, None, shard)
            for index in range(min(shard["samples"], count - len(samples))):
                samples.append(reader.get_item(index))
    return samples


def inspect_dataset(folder: str | os.PathLike, samples: int = 2, chars: int = 400) -> str:
    """A human summary: layout, counts, settings, and the first samples decoded back to text."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    shards = _index(folder)["shards"]
    raw = sum(s["raw_data"]["bytes"] for s in shards)
    stored = sum((s.get("zip_data") or s["raw_data"])["bytes"] for s in shards)
    encodings = (
        ", ".join(f"{n} ({e})" for n, e in zip(shards[0]["column_names"], shards[0]["column_encodings"], strict=True))
        if shards
        else "none"
    )
    lines = [
        f"dataset      {folder}",
        f"columns      {encodings}",
        f"samples      {manifest['samples']:,} in {len(shards):,} shards "
        f"({manifest['compression'] or 'uncompressed'}; hashes {', '.join(manifest['hashes']) or 'none'})",
        f"size         {stored / 1e6:,.2f} MB stored, {raw / 1e6:,.2f} MB raw",
        f"documents    {manifest['documents']:,}",
        f"order        seed {manifest['seed']}, {manifest['buckets']} shuffle buckets",
    ]
    tokenizer = None
    if manifest["columns"] == "tokens":
        packing = "concatenated, cut every max_seq_len" if manifest["split_documents"] else "whole documents, padded"
        lines += [
            f"tokens       {manifest['tokens_written']:,} written ({manifest['max_seq_len']:,} per sample, "
            f"{manifest['dtype']}); {manifest['tail_dropped']:,} dropped at bucket tails, "
            f"{manifest['truncated']:,} truncated, {manifest['padding']:,} padding",
            f"packing      {packing}",
            f"tokenizer    {manifest['vocab_size']:,} ids; eos {manifest['eos_id']}, bos {manifest['bos_id']}",
        ]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for number, sample in enumerate(read_samples(folder, samples)):
        if tokenizer is not None:
            text = tokenizer.decode(sample["tokens"].tolist(), skip_special_tokens=False)
        else:
            text = sample["text"]
        shown = text[:chars] + (" [...]" if len(text) > chars else "")
        lines += ["", f"--- sample {number} ---", shown]
    return "\n".join(lines)
