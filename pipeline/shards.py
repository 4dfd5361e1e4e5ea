"""Looking at a written MDS dataset: `inspect` summarises it and decodes its first samples;
`verify` checks index.json against manifest.json and every shard file against the sizes and hashes
in index.json. The training loader (`pipeline.loader`) runs the same check before an epoch."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class DamagedDatasetError(ValueError):
    """An MDS dataset whose index, manifest or shard files do not match each other."""


@dataclass
class Verification:
    shards: int = 0
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)  # one line per bad or missing file

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_json(path: Path, missing_hint: str) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"{path.parent} has no {path.name}: {missing_hint}")
    try:
        value = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedDatasetError(f"{path.name}: damaged ({error}); rerun the run to rewrite it") from None
    if not isinstance(value, dict):
        raise DamagedDatasetError(f"{path.name}: damaged (not a JSON object); rerun the run to rewrite it")
    return value


def read_manifest(folder: str | os.PathLike) -> dict:
    """The dataset's manifest.json (columns, max_seq_len, dtype, token ids, counts)."""
    return _read_json(
        Path(folder, "manifest.json"),
        "not a published corpus-prep MDS dataset; point at <output.folder>/mds of a run that finished",
    )


def _index(folder: Path) -> dict:
    index = _read_json(
        folder / "index.json",
        "not an MDS dataset, or its run did not finish "
        "(an unfinished dataset stays in mds.partial/ until every writer is done)",
    )
    if not isinstance(index.get("shards"), list):
        raise DamagedDatasetError("index.json: damaged (no list of shards); rerun the run to rewrite it")
    return index


def verify_dataset(folder: str | os.PathLike, hashes: bool = True, only_present: bool = False) -> Verification:
    """Problems, one line each, where index.json, manifest.json and the shard files disagree.

    Each shard's compressed file (or raw file when uncompressed) must exist with the recorded size
    and, with `hashes`, hashes; a raw file that the loader decompressed beside it is checked too.
    `only_present` skips files not there yet (a cache that streams from `remote=` fills as it goes).
    """
    from streaming.base.hashing import get_hash

    folder = Path(folder)
    result = Verification()
    try:
        shards = _index(folder)["shards"]  # a folder with no index.json at all raises: it is not a dataset
        manifest = read_manifest(folder)
    except DamagedDatasetError as error:
        result.problems.append(str(error))
        return result
    except FileNotFoundError as error:
        if not (folder / "index.json").exists():
            raise
        result.problems.append(str(error))
        return result
    samples = sum(shard.get("samples", 0) for shard in shards)
    if (manifest.get("shards"), manifest.get("samples")) != (len(shards), samples):
        result.problems.append(
            f"index.json lists {len(shards)} shard(s) holding {samples} samples, but manifest.json says "
            f"{manifest.get('shards')} shard(s) holding {manifest.get('samples')}: one of them was edited or "
            "replaced; rerun the run to rewrite both"
        )
    for shard in shards:
        result.shards += 1
        files = [shard[key] for key in ("zip_data", "raw_data") if shard.get(key)]
        required = files[0]  # the compressed file when there is one: that is what is published
        for info in files:
            path = folder / info["basename"]
            if not path.exists():
                if info is required and not only_present:
                    result.problems.append(f"{info['basename']}: missing")
                continue
            result.files_checked += 1
            size = path.stat().st_size
            if size != info["bytes"]:
                result.problems.append(f"{info['basename']}: {size} bytes, index says {info['bytes']}")
                continue
            if hashes and info.get("hashes"):
                data = path.read_bytes()
                for algo, expected in info["hashes"].items():
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
