"""Near-duplicate removal against an index in Redis that every task, machine and later run shares.

The index is datasketch's `MinHashLSH` with its Redis storage (band buckets and keys), plus the
signatures of the indexed documents in one Redis hash, for the Jaccard estimate of each candidate.

The race: two tasks holding near-duplicates of each other could both query (finding nothing) before
either inserts, and both keep their copy. So a task queries and inserts a batch of documents while
holding a Redis lock (redis-py's `Lock`: SET NX with an expiry, released by token): decisions are
serialised, one batch at a time, and no pair of kept documents is ever a duplicate. Which copy survives
depends on which task gets there first; `mode: sharded` is the deterministic one. A document whose
own id is already indexed (a task rerun after a kill) is kept, not dropped as a copy of itself.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import numpy as np
from datatrove.data import Document, DocumentsPipeline

from stages.base import CorpusStep, Drop, TaskError
from stages.dedup.signature import MinHasher, ShingleSettings


def redis_parameters(url: str) -> dict:
    """redis.Redis keyword arguments from `redis://[:password@]host[:port][/db]` or `unix:///path.sock`."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return {"unix_socket_path": unquote(parts.path)}
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"redis url must start with redis://, rediss:// or unix://, got {parts.scheme or url!r}")
    parameters = {"host": parts.hostname or "localhost", "port": parts.port or 6379}
    if parts.path.strip("/"):
        parameters["db"] = int(parts.path.strip("/"))
    if parts.password:
        parameters["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        parameters["ssl"] = True
    return parameters


class SharedIndexDedup(CorpusStep):
    """Reads `doc.text`; drops a document whose MinHash signature agrees with an indexed one's on at
    least `threshold` of its permutations (estimated Jaccard), among the candidates the LSH index in
    Redis returns; otherwise adds it to the index. Writes nothing to the document.

    Drops: `near_duplicate`. Stats: `indexed` (documents added), `already_indexed` (own id found).
    """

    name = "minhash_dedup.shared_index"

    def __init__(self, url: str, basename: str, num_perm: int, seed: int, shingles: ShingleSettings,
                 threshold: float, bands: int, rows: int, batch_size: int = 256):  # fmt: skip
        super().__init__()
        self.url = url
        self.basename = basename
        self.num_perm = num_perm
        self.seed = seed
        self.shingles = shingles
        self.threshold = threshold
        self.bands, self.rows = bands, rows
        self.batch_size = batch_size

    def _connect(self):
        import redis
        from datasketch import MinHashLSH

        parameters = redis_parameters(self.url)
        client = redis.Redis(**parameters)
        lsh = MinHashLSH(
            threshold=self.threshold,
            num_perm=self.num_perm,
            params=(self.bands, self.rows),
            storage_config={"type": "redis", "basename": self.basename.encode(), "redis": parameters},
        )
        return client, lsh

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._client, self._lsh = self._connect()
        self._hasher = MinHasher(self.num_perm, self.seed, self.shingles)
        yield from super().run(data, rank, world_size)

    def process(self, doc: Document) -> Document:
        outcome = self.process_batch([doc])[0]
        if isinstance(outcome, Drop):
            raise outcome
        return outcome

    def process_batch(self, docs: list[Document]) -> list[Document | Drop]:
        import redis

        client, lsh, hasher = self._client, self._lsh, self._hasher
        signatures = hasher.signatures([doc.text for doc in docs])
        try:
            return self._decide(docs, client, lsh, hasher, signatures)
        except redis.RedisError as error:
            raise TaskError(f"Redis failed ({type(error).__name__}); rerun once it is reachable") from error

    def _decide(self, docs, client, lsh, hasher, signatures) -> list[Document | Drop]:
        signature_key = f"{self.basename}_signatures"
        outcomes: list[Document | Drop] = []
        with client.lock(f"{self.basename}_lock", timeout=300, blocking_timeout=3600):
            for doc, signature in zip(docs, signatures, strict=True):
                lean = hasher.lean(signature)
                candidates = list(lsh.query(lean))
                if doc.id in candidates:
                    self.stat_update("already_indexed")
                elif self._duplicates_any(client, signature_key, candidates, signature):
                    outcomes.append(Drop("near_duplicate"))
                    continue
                else:
                    lsh.insert(doc.id, lean, check_duplication=False)
                    client.hset(signature_key, doc.id, signature.astype(np.uint32).tobytes())
                    self.stat_update("indexed")
                outcomes.append(doc)
        return outcomes

    def _duplicates_any(self, client, signature_key: str, candidates: list, signature: np.ndarray) -> bool:
        if not candidates:
            return False
        stored = client.hmget(signature_key, candidates)
        for raw in stored:
            if raw is not None:
                other = np.frombuffer(raw, dtype=np.uint32)
                if np.count_nonzero(other == signature) >= self.threshold * self.num_perm:
                    return True
        return False
