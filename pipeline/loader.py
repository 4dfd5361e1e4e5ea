"""Training on a corpus-prep MDS dataset: StreamingDataset and StreamingDataLoader with every setting
that decides the sample order pinned, and the loader's position saved and restored exactly.

StreamingDataset's order depends on the shard layout, the shuffle seed, algorithm and block size,
and `num_canonical_nodes`, which silently defaults to the first run's node count. These helpers fix
all of them, record them next to the loader state, and refuse to resume with different ones or on a
dataset whose index changed, instead of resuming on the wrong sample.

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
from dataclasses import asdict, dataclass
from pathlib import Path


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


def read_manifest(folder: str | os.PathLike) -> dict:
    """The dataset's manifest.json (columns, max_seq_len, dtype, token ids, counts)."""
    path = Path(folder, "manifest.json")
    if not path.exists():
        raise FileNotFoundError(
            f"{folder} is not a published corpus-prep MDS dataset (no manifest.json); "
            "point at <output.folder>/mds of a run that finished"
        )
    return json.loads(path.read_text())


def streaming_dataset(folder: str | os.PathLike, batch_size: int, order: OrderSettings | None = None, **kwargs):
    """A `streaming.StreamingDataset` over a local output folder, order settings pinned.

    `kwargs` go to StreamingDataset (e.g. `remote=` to stream from object storage into `folder`).
    """
    from streaming import StreamingDataset

    order = order or OrderSettings()
    read_manifest(folder)
    return StreamingDataset(local=str(folder), batch_size=batch_size, **asdict(order), **kwargs)


def streaming_loader(
    folder: str | os.PathLike,
    batch_size: int,
    num_workers: int = 0,
    state: dict | None = None,
    order: OrderSettings | None = None,
    **dataset_kwargs,
):
    """A `streaming.StreamingDataLoader`; with `state` (from `load_loader_state`) it resumes on exactly
    the sample after the last one the saved loader yielded."""
    from streaming import StreamingDataLoader

    if state is not None:
        saved_order = OrderSettings(**state["order"])
        if order is not None and order != saved_order:
            raise LoaderStateError(
                f"the state was saved with {saved_order}, not {order}; resume with the saved settings"
            )
        order = saved_order
        if state["dataset"] != dataset_fingerprint(folder):
            raise LoaderStateError(
                f"{folder}/index.json changed since the state was saved: the shards differ, so the saved "
                "position would point at other samples. Resume on the dataset the state was saved with."
            )
    dataset = streaming_dataset(folder, batch_size, order, **dataset_kwargs)
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
