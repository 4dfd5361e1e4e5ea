"""Training on a corpus-prep MDS dataset: StreamingDataset and StreamingDataLoader with every setting
that decides the sample order pinned, and the loader's position saved and restored exactly.

StreamingDataset's order depends on the shard layout, the shuffle seed, algorithm and block size,
and `num_canonical_nodes`, which silently defaults to the first run's node count. These helpers fix
all of them, record them next to the loader state, and refuse to resume with different ones or on a
dataset whose index changed, instead of resuming on the wrong sample. Shards are checked before
the first epoch and while streaming: a missing, truncated or corrupt one raises `DamagedDatasetError`
naming it, where StreamingDataset alone would end the epoch early without an error.

    loader = streaming_loader("out/default/mds", batch_size=8)
    for step, batch in enumerate(loader):        # batch["tokens"]: (8, max_seq_len) tensor
        ...
        if step == 99:
            save_loader_state(loader, "ckpt/loader.json")
            break
    loader = streaming_loader("out/default/mds", batch_size=8, state=load_loader_state("ckpt/loader.json"))
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from streaming import StreamingDataLoader, StreamingDataset

from pipeline.shards import DamagedDatasetError, read_manifest, verify_dataset


@dataclass(frozen=True)
class OrderSettings:
    """Everything besides the shards that decides which sample comes when."""

    shuffle: bool = False  # the samples were shuffled when written; True reshuffles every epoch
    shuffle_seed: int = 9176
    shuffle_algo: str = "py1e"
    shuffle_block_size: int = 1 << 18
    num_canonical_nodes: int = 1
    partition_algo: str = "relaxed"


class LoaderStateError(ValueError):
    """A saved loader state that does not belong to this dataset or these settings."""


def dataset_fingerprint(folder: str | os.PathLike) -> str:
    return hashlib.sha1(Path(folder, "index.json").read_bytes()).hexdigest()


SHARD_CHECKS = ("hashes", "sizes", None)


class CheckedStreamingDataset(StreamingDataset):
    """StreamingDataset that raises when a shard fails to download, validate or decompress.

    Streaming prepares shards in a background thread; when that thread fails it only stops the epoch
    early, so a damaged shard reads as a short epoch with no error. `on_exception` is streaming's
    public hook for that thread's failures: keep the error and raise it once the epoch has stopped.
    """

    shard_error: BaseException | None = None

    def on_exception(self, future) -> None:
        if future.exception() is not None and self.shard_error is None:
            self.shard_error = future.exception()
        super().on_exception(future)

    def prepare_shard(self, shard_id: int, blocking: bool = True) -> None:
        """Wait for a shard here rather than in streaming: when the background thread fails on a
        shard, streaming leaves it marked as being prepared and a blocking wait never returns."""
        if not blocking:
            return super().prepare_shard(shard_id, blocking=False)
        while True:
            super().prepare_shard(shard_id, blocking=False)  # prepares it now, unless another thread is
            if self._shard_is_local(shard_id):
                return
            if self.shard_error is not None:
                raise DamagedDatasetError(_damage_message(self.streams[0].local, self.shard_error))
            time.sleep(0.01)

    def _shard_is_local(self, shard_id: int) -> bool:
        # Streaming writes every shard file under a temporary name and renames it when complete.
        stream = self.streams[self.stream_per_shard[shard_id]]
        return all(
            os.path.isfile(os.path.join(stream.local, stream.split or "", raw.basename))
            for raw, _ in self.shards[shard_id].file_pairs
        )

    def __iter__(self):
        self.shard_error = None
        try:
            yield from super().__iter__()
        except Exception as error:
            # A shard that fails while streaming surfaces in the main thread as a secondary error
            # ("Background thread failed", a missing raw .mds); the recorded thread error names the shard.
            raise DamagedDatasetError(_damage_message(self.streams[0].local, self.shard_error or error)) from error
        if self.shard_error is not None:
            raise DamagedDatasetError(_damage_message(self.streams[0].local, self.shard_error)) from None


def _damage_message(folder: str, error: BaseException) -> str:
    found = verify_dataset(folder, only_present=True).problems
    named = "; ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return (
        f"{folder}: a shard could not be read ({type(error).__name__}: {error})"
        + (f"; damaged: {named}" if named else "")
        + ". Run `corpus-prep verify` on the published dataset, and rerun the run (or re-upload) to rewrite it."
    )


def _fetch_metadata(remote: str, folder: str | os.PathLike) -> None:
    """Download index.json and manifest.json from `remote` into `folder`, so they can be checked before
    streaming starts (StreamingDataset would fetch index.json itself, but knows no manifest)."""
    from streaming.base.storage import CloudDownloader

    for name in ("index.json", "manifest.json"):
        CloudDownloader.direct_download(f"{remote.rstrip('/')}/{name}", os.path.join(folder, name))


def streaming_dataset(
    folder: str | os.PathLike,
    batch_size: int,
    order: OrderSettings | None = None,
    check: str | None = "hashes",
    **kwargs,
):
    """A `streaming.StreamingDataset` over a corpus-prep MDS dataset, order settings pinned and shards
    checked: a missing, truncated or corrupt shard raises `DamagedDatasetError` naming it, never a
    short epoch.

    `check="hashes"` (the default) first hashes every shard file present in `folder` (xxh64 reads
    a few GB/s); `"sizes"` only compares their sizes with index.json, for datasets too large to read
    at every start. Either way index.json must agree with manifest.json, and streaming validates each
    compressed shard's hash as it decompresses it. `check=None` turns all of this off.
    `kwargs` go to StreamingDataset (e.g. `remote=` to stream from object storage into `folder`,
    whose index and manifest are then downloaded first and only the shards already cached checked).
    """
    if check not in SHARD_CHECKS:
        raise ValueError(f"check must be one of {SHARD_CHECKS}, not {check!r}")
    order = order or OrderSettings()
    remote = kwargs.get("remote")
    if remote:
        _fetch_metadata(remote, folder)
    manifest = read_manifest(folder)
    if check is None:
        return StreamingDataset(local=str(folder), batch_size=batch_size, **asdict(order), **kwargs)
    problems = verify_dataset(folder, hashes=check == "hashes", only_present=bool(remote)).problems
    if problems:
        raise DamagedDatasetError(
            f"{folder} is damaged: " + "; ".join(problems) + ". Rerun the run (or re-upload) to rewrite it."
        )
    kwargs.setdefault("validate_hash", manifest["hashes"][0] if manifest.get("hashes") else None)
    return CheckedStreamingDataset(local=str(folder), batch_size=batch_size, **asdict(order), **kwargs)


def streaming_loader(
    folder: str | os.PathLike,
    batch_size: int,
    num_workers: int = 0,
    state: dict | None = None,
    order: OrderSettings | None = None,
    check: str | None = "hashes",
    **dataset_kwargs,
):
    """A `streaming.StreamingDataLoader`; with `state` (from `load_loader_state`) it resumes on exactly
    the sample after the last one the saved loader yielded. `check` and `dataset_kwargs`: see
    `streaming_dataset`."""
    if state is not None:
        saved_order = OrderSettings(**state["order"])
        if order is not None and order != saved_order:
            raise LoaderStateError(
                f"the state was saved with {saved_order}, not {order}; resume with the saved settings"
            )
        order = saved_order
    dataset = streaming_dataset(folder, batch_size, order, check, **dataset_kwargs)
    if state is not None and state["dataset"] != dataset_fingerprint(folder):
        raise LoaderStateError(
            f"{folder}/index.json changed since the state was saved: the shards differ, so the saved "
            "position would point at other samples. Resume on the dataset the state was saved with."
        )
    loader = StreamingDataLoader(dataset, batch_size=batch_size, num_workers=num_workers, collate_fn=collate)
    if state is not None:
        loader.load_state_dict(state["streaming"])  # must happen before the first iteration
    return loader


def collate(samples: list[dict]) -> dict:
    """Stack each column: token arrays into one int64 tensor (what embedding lookups take; the shards
    hold uint16/uint32, which torch handles poorly), strings into lists."""
    import numpy as np
    import torch

    batch = {}
    for name, first in samples[0].items():
        if isinstance(first, np.ndarray):
            batch[name] = torch.from_numpy(np.stack([s[name] for s in samples]).astype(np.int64))
        else:
            batch[name] = [s[name] for s in samples]
    return batch


def save_loader_state(loader, path: str | os.PathLike) -> dict:
    """Write the loader's position, the order settings and the dataset's fingerprint as JSON."""
    dataset = loader.dataset
    order = OrderSettings(
        shuffle=dataset.shuffle,
        shuffle_seed=dataset.shuffle_seed,
        shuffle_algo=dataset.shuffle_algo,
        shuffle_block_size=dataset.shuffle_block_size,
        num_canonical_nodes=dataset.num_canonical_nodes,
        partition_algo=dataset.partition_algo,
    )
    state = {
        "streaming": loader.state_dict(),
        "order": asdict(order),
        "dataset": dataset_fingerprint(dataset.streams[0].local),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(state, indent=2))
    return state


def load_loader_state(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())
