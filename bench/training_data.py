"""The tokenize stage against bare `Tokenizer.encode_batch`, and the MDS writer step against a plain
file write of the same token bytes."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from datatrove.data import Document

from bench.harness import Comparison, best_seconds
from pipeline.sample.prose import LANGUAGES, Prose
from pipeline.shared_data import shared_data_folder
from stages.base import StageContext
from stages.mds import MdsOptions
from stages.tokenize import TOKEN_IDS_KEY, TOKENIZER_ARTIFACT, Tokenize, TokenizerArtifact, TrainTokenizer

DATA = shared_data_folder()
BATCH = 1024


def _texts(count: int) -> list[str]:
    rng = random.Random(1)
    return ["\n\n".join(Prose(rng, LANGUAGES[i % len(LANGUAGES)]).paragraph() for _ in range(8)) for i in range(count)]


def _tokenizer_file(texts: list[str], folder: str) -> tuple[str, str]:
    """GPT-2 from the shared data when present (a real vocabulary), else a BPE trained on the texts."""
    gpt2 = DATA / "tokenizers" / "gpt2" / "tokenizer.json"
    if gpt2.exists():
        return str(gpt2), "GPT-2"
    path = os.path.join(folder, "tokenizer.json")
    docs = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
    list(TrainTokenizer(path, 8192, 2, 1 << 30, ["<|endoftext|>"]).run(docs))
    return path, "BPE 8192 trained on the texts"


def run(documents: int = 4000) -> list[Comparison]:
    from tokenizers import Tokenizer

    texts = _texts(documents)
    with tempfile.TemporaryDirectory() as folder:
        path, tokenizer_name = _tokenizer_file(texts, folder)
        artifact = TokenizerArtifact(path, "<|endoftext|>", None)
        bare_tokenizer = Tokenizer.from_file(path)

        def bare() -> None:
            for start in range(0, len(texts), BATCH):
                bare_tokenizer.encode_batch(texts[start : start + BATCH], add_special_tokens=False)

        def bare_fast() -> None:  # the call the stage makes: its own overhead shows against this one
            for start in range(0, len(texts), BATCH):
                bare_tokenizer.encode_batch_fast(texts[start : start + BATCH], add_special_tokens=False)

        step = Tokenize(artifact, BATCH, "source")
        tokenized: list[Document] = []

        def stage() -> None:
            tokenized.clear()
            tokenized.extend(step.run(Document(text=t, id=str(i)) for i, t in enumerate(texts)))

        ours, baseline, baseline_fast = best_seconds([stage, bare, bare_fast], repeats=3)
        tokens = sum(d.metadata["token_count"] for d in tokenized)
        name = f"tokenize stage ({tokenizer_name})"
        results = [
            Comparison(name, "tokens/s", tokens / ours, tokens / baseline, "bare encode_batch", 0.9),
            Comparison(name, "tokens/s", tokens / ours, tokens / baseline_fast, "bare encode_batch_fast"),
        ]
        results.append(_mds_write(tokenized, artifact, folder))
    return results


def _mds_write(tokenized: list[Document], artifact: TokenizerArtifact, folder: str) -> Comparison:
    """One writer task on one bucket set: read the bucket files, sort, pack, order, encode, compress
    (zstd) and hash (sha1) shards. The rate counts the token bytes in the written samples."""
    options = MdsOptions(max_seq_len=2048, buckets=4)  # the stage's defaults: zstd:1, xxh64
    context = StageContext(
        work_folder=os.path.join(folder, "work"),
        output_folder=os.path.join(folder, "out"),
        tasks=1,
        artifacts={TOKENIZER_ARTIFACT: artifact},
    )
    scatter, write_pass, _ = options.build(context)
    # A few copies of the corpus under new ids, so the write moves tens of MB.
    copies = (
        Document(text=d.text + str(n), id=f"{n}-{d.id}", metadata={TOKEN_IDS_KEY: d.metadata[TOKEN_IDS_KEY]})
        for n in range(6)
        for d in tokenized
    )
    for _ in scatter.run(copies):
        pass
    writer = write_pass.steps[0]

    def ours() -> None:
        for _ in writer.run(None, rank=0, world_size=1):
            pass

    written = Path(folder, "out", "mds.partial")
    ours()
    token_bytes = (
        sum(len(t) * 2 for d in tokenized for t in [d.metadata[TOKEN_IDS_KEY]]) * 6
    )  # uint16, before the tail cut: close enough for a rate
    payload = os.urandom(token_bytes)
    plain = Path(folder, "plain.bin")

    def plain_write() -> None:
        with open(plain, "wb") as f:
            f.write(payload)
            f.flush()

    ours_s, plain_s = best_seconds([ours, plain_write], repeats=5)
    assert any(written.rglob("*.zstd"))
    return Comparison(
        "mds write step (read buckets, pack, zstd:1, xxh64)",
        "MB/s",
        token_bytes / ours_s / 1e6,
        token_bytes / plain_s / 1e6,
        "plain file write",
        floor=100,
    )
