"""MinHash signatures of the dedup stage against datasketch's `MinHash.bulk`, same documents, same run.

Two baselines: bulk on the shingle strings with its default hash (sha1), which is how datasketch is
usually fed, and bulk handed our precomputed shingle hashes (`hashfunc=int`), which isolates the
permutation-and-minimum arithmetic both sides do with numpy. Ours starts from the raw text each time.
"""

from __future__ import annotations

import random

from bench.harness import Comparison, best_seconds
from pipeline.sample.prose import LANGUAGES, Prose
from stages.dedup.signature import MinHasher


def run(documents: int = 3000) -> list[Comparison]:
    from datasketch import MinHash

    rng = random.Random(0)
    texts = [" ".join(Prose(rng, LANGUAGES[i % 4]).paragraph() for _ in range(2)) for i in range(documents)]
    hasher = MinHasher(num_perm=128, seed=1)
    hashes, offsets = hasher.shingle_hashes_batch(texts)
    shingle_ints = [[int(h) for h in hashes[offsets[i] : offsets[i + 1]]] for i in range(documents)]
    shingle_strings = []
    for text in texts:
        words = text.lower().split()
        shingle_strings.append([" ".join(words[i : i + 5]).encode() for i in range(max(len(words) - 4, 1))])
    hasher.signatures(texts[:10])  # first-call set-up (Arrow kernels) outside the timing

    ours, sha1_bulk, int_bulk = best_seconds(
        [
            lambda: hasher.signatures(texts),
            lambda: MinHash.bulk(shingle_strings, num_perm=128, seed=1),
            lambda: MinHash.bulk(shingle_ints, num_perm=128, seed=1, hashfunc=int),
        ],
        repeats=3,
    )
    return [
        Comparison(
            "minhash signatures (128 perm, word 5-grams)",
            "docs/s",
            documents / ours,
            documents / sha1_bulk,
            "datasketch MinHash.bulk on shingle strings",
            target=3.0,
        ),
        Comparison(
            "minhash signatures (128 perm, word 5-grams)",
            "docs/s",
            documents / ours,
            documents / int_bulk,
            "datasketch MinHash.bulk on our shingle hashes",
        ),
    ]
