"""Run in a fresh process by the loader tests: iterate a dataset through `pipeline.loader` and write
what came out (one digest per sample, in order) as JSON, never the tokens themselves.

    python -m tests.helpers.loader_probe FOLDER OUT.json --workers N [--stop-after K --save STATE]
                                                         [--resume STATE] [--shuffle]
"""

import argparse
import hashlib
import json

from pipeline.loader import OrderSettings, load_loader_state, save_loader_state, streaming_loader


def digest(row) -> str:
    return hashlib.blake2b(row.numpy().tobytes(), digest_size=8).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--stop-after", type=int, help="batches to take before saving the state and stopping")
    parser.add_argument("--save", help="where to save the loader state after --stop-after batches")
    parser.add_argument("--resume", help="a saved loader state to resume from")
    parser.add_argument("--shuffle", action="store_true")
    args = parser.parse_args()

    state = load_loader_state(args.resume) if args.resume else None
    order = None if state else OrderSettings(shuffle=args.shuffle)
    loader = streaming_loader(args.folder, args.batch_size, num_workers=args.workers, state=state, order=order)
    seen, dtypes = [], set()
    for number, batch in enumerate(loader):
        dtypes.add(str(batch["tokens"].dtype))
        seen += [digest(row) for row in batch["tokens"]]
        if args.stop_after is not None and number + 1 == args.stop_after:
            save_loader_state(loader, args.save)
            break
    with open(args.out, "w") as f:
        json.dump({"samples": seen, "dtypes": sorted(dtypes)}, f)


if __name__ == "__main__":
    main()
