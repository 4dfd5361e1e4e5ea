"""The `mds` stage: a training-ready MosaicML MDS dataset, globally shuffled, written in three parts.

1. `scatter`: in the last document pass, each task puts its documents into shuffle buckets on disk.
2. `write`: one pass, tasks in parallel, packs each bucket and writes it as MDS shards.
3. `publish`: merges the buckets' indexes and provenance and renames the dataset into place.

`shuffle` holds the ordering rules and `pack` the packing rules; both are plain functions.
"""

from stages.mds.options import MdsOptions

__all__ = ["MdsOptions"]
