"""After publishing: copy the dataset to object storage (s3://, gs://, any fsspec URL), index last.

StreamingDataset reads an MDS dataset from a remote by its index.json, downloading shards as it needs
them; uploading the index after every shard means a reader never finds an index naming a shard that is
not there yet. A rerun uploads again (same bytes, same names).
"""

from __future__ import annotations

import os

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from stages.mds.publish import dataset_folder


class UploadDataset(PipelineStep):
    """Reads `<output>/mds/`; writes the same files under `remote`. Stats: `files_uploaded`, `bytes_uploaded`."""

    type = "corpus-prep"
    name = "mds.upload"

    def __init__(self, output_folder: str, remote: str):
        super().__init__()
        self.output_folder = output_folder
        self.remote = remote.rstrip("/")

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import fsspec

        passed_on = list(data or ())  # runs the publish step before it: the dataset must be complete
        local = dataset_folder(self.output_folder)
        filesystem, root = fsspec.core.url_to_fs(self.remote)
        files = sorted(
            os.path.relpath(os.path.join(folder, name), local) for folder, _, names in os.walk(local) for name in names
        )
        files.sort(key=lambda name: name == "index.json")  # the index last
        for name in files:
            source = os.path.join(local, name)
            filesystem.put_file(source, f"{root}/{name}")
            self.stat_update("files_uploaded")
            self.stat_update("bytes_uploaded", value=os.path.getsize(source))
        yield from passed_on
