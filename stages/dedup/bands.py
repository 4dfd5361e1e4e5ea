"""LSH banding: which (bands, rows) to use, the chance a pair at a given Jaccard becomes a candidate,
and each document's bucket hash per band."""

from __future__ import annotations

import numpy as np

from stages.dedup.partitioned import mix64

# Every candidate is verified by exact Jaccard, so a false candidate costs a comparison, never a wrong
# removal: the default bands favour recall. 0.995 at the threshold gives 21 x 6 at 0.8 and 128
# permutations (a pair at Jaccard 0.8 is missed with probability 0.0017; FineWeb's 14 x 8: 0.19).
RECALL_AT_THRESHOLD = 0.995


def catch_probability(jaccard: float, bands: int, rows: int) -> float:
    """The S-curve: chance that two documents at this Jaccard share at least one band."""
    return 1 - (1 - jaccard**rows) ** bands


def default_bands_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """The most rows per band (fewest false candidates) whose num_perm // rows bands still catch a pair
    at the threshold with probability RECALL_AT_THRESHOLD; one row per band when none does."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if catch_probability(threshold, bands, rows) >= RECALL_AT_THRESHOLD:
            return bands, rows
    return num_perm, 1


def bucket_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) uint64: a hash of each band's `rows` signature values and the band's number,
    so equal hashes mean equal bands (up to 64-bit collisions, which verification rejects)."""
    count = len(signatures)
    block = np.asarray(signatures[:, : bands * rows], dtype=np.uint64).reshape(count, bands, rows)
    hashes = np.broadcast_to(mix64(np.arange(1, bands + 1, dtype=np.uint64)), (count, bands))
    for row in range(rows):
        hashes = mix64(hashes ^ block[:, :, row])
    return np.ascontiguousarray(hashes)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted arrays of distinct shingle hashes."""
    if not len(a) and not len(b):
        return 1.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard estimated from two MinHash signatures: the fraction of equal values."""
    return float(np.count_nonzero(a == b)) / len(a)
