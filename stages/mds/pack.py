"""Packing token streams into fixed-length training samples.

`pack_concatenated` is llm-foundry's concat convention: documents (each already ending in EOS) are
joined into one stream and cut every `max_seq_len` tokens; the partial sample at the end is dropped.
`pack_whole_documents` never splits a document: it fills a sample with whole documents and pads the
rest; a document longer than a sample is truncated to one sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def token_dtype(vocab_size: int) -> str:
    """The narrowest dtype llm-foundry reads that holds every token id."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


@dataclass
class Packed:
    """Samples, and for each sample the run of documents it holds: indices `first[i]` to `end[i] - 1`.

    Both packers take documents in order and never reorder them, so that run is always contiguous.
    Documents must not be empty (an empty document would be listed in a sample it adds nothing to).
    """

    samples: np.ndarray  # (n, max_seq_len), the dtype of the dataset
    first: np.ndarray  # (n,) int64
    end: np.ndarray  # (n,) int64, exclusive
    tokens_in: int = 0
    tokens_written: int = 0  # document tokens in samples (padding excluded)
    tail_dropped: int = 0  # tokens after the last full sample (concatenated packing)
    truncated: int = 0  # tokens cut from documents longer than a sample (whole-document packing)
    padding: int = 0

    @property
    def documents(self) -> list[list[int]]:
        return [list(range(a, b)) for a, b in zip(self.first.tolist(), self.end.tolist(), strict=True)]

    def accounted(self) -> bool:
        return self.tokens_in == self.tokens_written + self.tail_dropped + self.truncated


def pack_concatenated(documents: list[np.ndarray], max_seq_len: int, dtype) -> Packed:
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    total = int(lengths.sum())
    count = total // max_seq_len
    stream = np.concatenate(documents).astype(dtype, copy=False) if documents else np.empty(0, dtype)
    samples = stream[: count * max_seq_len].reshape(count, max_seq_len)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # sample i spans [i * L, (i + 1) * L): it holds the documents ending after its start and starting before its end
    bounds = np.arange(count + 1, dtype=np.int64) * max_seq_len
    first = np.searchsorted(ends, bounds[:-1], side="right")
    end = np.searchsorted(starts, bounds[1:], side="left")
    written = count * max_seq_len
    return Packed(samples, first, end, tokens_in=total, tokens_written=written, tail_dropped=total - written)


def pack_whole_documents(documents: list[np.ndarray], max_seq_len: int, dtype, pad_id: int) -> Packed:
    samples: list[np.ndarray] = []
    first: list[int] = []
    packed = Packed(np.empty((0, max_seq_len), dtype), np.empty(0, np.int64), np.empty(0, np.int64))
    current = np.full(max_seq_len, pad_id, dtype=dtype)
    used, opened = 0, 0

    def close(next_document: int) -> None:
        nonlocal current, used, opened
        if next_document > opened:
            samples.append(current)
            first.append(opened)
            packed.padding += max_seq_len - used
        current, used, opened = np.full(max_seq_len, pad_id, dtype=dtype), 0, next_document

    for index, tokens in enumerate(documents):
        packed.tokens_in += len(tokens)
        if len(tokens) > max_seq_len:
            packed.truncated += len(tokens) - max_seq_len
            tokens = tokens[:max_seq_len]
        if used + len(tokens) > max_seq_len:
            close(index)
        current[used : used + len(tokens)] = tokens
        used += len(tokens)
        packed.tokens_written += len(tokens)
    close(len(documents))
    if samples:
        packed.samples = np.stack(samples)
        packed.first = np.asarray(first, dtype=np.int64)
        packed.end = np.append(packed.first[1:], len(documents))
    return packed
