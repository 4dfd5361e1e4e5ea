"""Packing token streams into fixed-length training samples.

`pack_concatenated` is llm-foundry's concat convention: documents (each already ending in EOS) are
joined into one stream and cut every `max_seq_len` tokens; the partial sample at the end is dropped.
`pack_whole_documents` never splits a document: it fills a sample with whole documents and pads the
rest; a document longer than a sample is truncated to one sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Packed:
    samples: np.ndarray  # (n, max_seq_len), the dtype of the dataset
    documents: list[list[int]]  # per sample, the indices of the documents it holds, in order
    tokens_in: int = 0
    tokens_written: int = 0  # document tokens in samples (padding excluded)
    tail_dropped: int = 0  # tokens after the last full sample (concatenated packing)
    truncated: int = 0  # tokens cut from documents longer than a sample (whole-document packing)
    padding: int = 0
    stats: dict = field(default_factory=dict)

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
    per_sample = []
    for number in range(count):
        lo, hi = number * max_seq_len, (number + 1) * max_seq_len
        # documents overlapping [lo, hi): those that end after lo and start before hi
        first = int(np.searchsorted(ends, lo, side="right"))
        last = int(np.searchsorted(starts, hi, side="left"))
        per_sample.append([i for i in range(first, last) if lengths[i] > 0])
    written = count * max_seq_len
    return Packed(samples, per_sample, tokens_in=total, tokens_written=written, tail_dropped=total - written)


def pack_whole_documents(documents: list[np.ndarray], max_seq_len: int, dtype, pad_id: int) -> Packed:
    samples: list[np.ndarray] = []
    per_sample: list[list[int]] = []
    packed = Packed(np.empty((0, max_seq_len), dtype), [])
    current = np.full(max_seq_len, pad_id, dtype=dtype)
    used, members = 0, []

    def close() -> None:
        nonlocal current, used, members
        if members:
            samples.append(current)
            per_sample.append(members)
            packed.padding += max_seq_len - used
        current, used, members = np.full(max_seq_len, pad_id, dtype=dtype), 0, []

    for index, tokens in enumerate(documents):
        packed.tokens_in += len(tokens)
        if len(tokens) == 0:
            continue
        if len(tokens) > max_seq_len:
            packed.truncated += len(tokens) - max_seq_len
            tokens = tokens[:max_seq_len]
        if used + len(tokens) > max_seq_len:
            close()
        current[used : used + len(tokens)] = tokens
        used += len(tokens)
        members.append(index)
        packed.tokens_written += len(tokens)
    close()
    if samples:
        packed.samples = np.stack(samples)
    packed.documents = per_sample
    return packed
