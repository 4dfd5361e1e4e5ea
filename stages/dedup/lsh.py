"""From signatures to duplicate clusters, on one machine: LSH banding, exact-Jaccard verification of
the candidate pairs, connected components, and a deterministic survivor per cluster."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def bands_and_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's optimiser: the (bands, rows) minimising false positives + false negatives (equal weights)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def catch_probability(jaccard: float, bands: int, rows: int) -> float:
    """The S-curve: chance that two documents at this Jaccard share at least one band."""
    return 1 - (1 - jaccard**rows) ** bands


def band_pairs(signatures: np.ndarray, band: int, rows: int, max_group: int = 100) -> np.ndarray:
    """(k, 2) index pairs i < j whose signatures agree on all rows of one band. Within a bucket of more
    than `max_group` documents, each is paired with the bucket's first only (clusters still connect)."""
    block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
    keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(counts[inverse] > 1)
    if not len(shared):
        return np.empty((0, 2), dtype=np.int64)
    order = shared[np.argsort(inverse[shared], kind="stable")]
    pairs = []
    for group in np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1):
        if len(group) <= max_group:
            i, j = np.triu_indices(len(group), k=1)
            pairs.append(np.stack([group[i], group[j]], axis=1))
        else:
            pairs.append(np.stack([np.full(len(group) - 1, group[0]), group[1:]], axis=1))
    return np.sort(np.concatenate(pairs), axis=1).astype(np.int64)


def distinct_pairs(pairs: list[np.ndarray]) -> np.ndarray:
    pairs = [p for p in pairs if len(p)]
    return np.unique(np.concatenate(pairs), axis=0) if pairs else np.empty((0, 2), dtype=np.int64)


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Every pair sharing at least one band, computed here (the in-memory path)."""
    return distinct_pairs([band_pairs(signatures, band, rows) for band in range(bands)])


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted arrays of distinct shingle hashes."""
    if not len(a) and not len(b):
        return 1.0
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


@dataclass
class Clusters:
    duplicate_pairs: np.ndarray  # (k, 2) the candidate pairs kept (verified when verification ran)
    candidates: int
    rejected: int  # candidates whose exact Jaccard was under the threshold (LSH false positives)
    label: np.ndarray  # cluster label per document


def cluster(pairs: np.ndarray, count: int, shingles: list[np.ndarray] | None, threshold: float) -> Clusters:
    """Clusters of `count` documents joined by the candidate pairs that pass verification (when
    `shingles` are given), as connected components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    kept = pairs
    if shingles is not None and len(pairs):
        similar = np.fromiter(
            (exact_jaccard(shingles[i], shingles[j]) >= threshold for i, j in pairs), dtype=bool, count=len(pairs)
        )
        kept = pairs[similar]
    graph = coo_matrix((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(count, count))
    _, label = connected_components(graph, directed=False)
    return Clusters(kept, len(pairs), len(pairs) - len(kept), label)


def survivors(label: np.ndarray, ids: list[str], lengths: np.ndarray, keep: str, preferred=None) -> np.ndarray:
    """Index of the kept document of each document's cluster: a `preferred` one (already kept, say in a
    saved index) first, then the smallest id, or the longest text with ties to the smallest id. A pure
    function of the cluster's members, never of their order."""
    by_length = -lengths if keep == "longest" else np.zeros(len(ids), dtype=np.int64)
    not_preferred = np.zeros(len(ids), dtype=bool) if preferred is None else ~np.asarray(preferred)
    order = np.lexsort((np.array(ids, dtype=str), by_length, not_preferred))
    first: dict[int, int] = {}
    for index in order:
        first.setdefault(int(label[index]), int(index))
    return np.array([first[int(c)] for c in label], dtype=np.int64)
