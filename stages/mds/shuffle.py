"""The deterministic global shuffle: every ordering decision is a hash of the seed and stable ids.

A document's key is a hash of (seed, id, text); the key picks its bucket (a fixed range of the key
space) and its place within the bucket. Buckets are packed and written in order, and the samples
within a bucket are ordered by a hash of (seed, bucket, sample number). Nothing depends on which task
saw a document or in what order, so the written order is a pure function of the input and the seed,
and a bucket at a time fits in memory however large the corpus.
"""

from __future__ import annotations

import hashlib

import numpy as np


def document_key(seed: int, doc_id: str, text: str) -> int:
    """64-bit shuffle key; the text is hashed too so that two documents sharing an id still sort stably."""
    digest = hashlib.blake2b(digest_size=8, key=seed.to_bytes(8, "little", signed=False))
    digest.update(doc_id.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest(), "little")


def bucket_of(key: int, buckets: int) -> int:
    """Bucket b holds the keys in [b * 2^64 / buckets, (b + 1) * 2^64 / buckets)."""
    return (key * buckets) >> 64


def sample_order(seed: int, bucket: int, samples: int) -> np.ndarray:
    """The permutation in which a bucket's packed samples are written: sorted by a SplitMix64 hash of
    (seed, bucket, sample number), computed for the whole bucket at once."""
    with np.errstate(over="ignore"):  # the mixing relies on uint64 wrap-around
        base = np.uint64((seed * 0x9E3779B97F4A7C15 + bucket * 0xD1B54A32D192ED03) % (1 << 64))
        x = np.arange(samples, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + base
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return np.argsort(x, kind="stable")
