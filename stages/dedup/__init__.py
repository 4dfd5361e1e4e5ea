"""The `minhash_dedup` stage: near-duplicate removal with MinHash LSH.

`signature` computes datasketch-compatible signatures for batches of documents with numpy; `lsh`
bands them, verifies candidate pairs by exact Jaccard and clusters them; `steps` are the stage's
three parts (signatures, a one-task pass that finds clusters, a filter by id); `options` the config.
"""

from stages.dedup.options import MinhashDedupOptions

__all__ = ["MinhashDedupOptions"]
