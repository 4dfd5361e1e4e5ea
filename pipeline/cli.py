"""`corpus-prep`: the command line. Each subcommand's --help explains its options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Prepare LLM pretraining corpora: extract and clean web text, remove duplicates, scrub personal data,
tokenize, budget tokens against compute-optimal model sizes, and write sharded training data.

A run is described by one YAML file (see configs/default.yaml and the config reference in README.md).
"""


def _cmd_run(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.runner import run

    overrides = dict(item.split("=", 1) for item in args.set or [])
    config = load_config(args.config, overrides={k: _yaml_value(v) for k, v in overrides.items()})
    result = run(config, overwrite=args.overwrite, show_progress=not args.no_progress)
    acc = result.accounting
    print(
        f"done: read {acc.read:,}, kept {acc.kept:,}, dropped {acc.dropped_total:,}, "
        f"quarantined {acc.quarantined_total:,}. Output: {result.layout.data}  Report: {result.layout.report_md}"
    )
    return 0


def _yaml_value(text: str):
    import yaml

    return yaml.safe_load(text)


def _cmd_sample(args: argparse.Namespace) -> int:
    from pipeline.sample import generate_sample

    corpus = generate_sample(args.out, pages=args.pages, seed=args.seed, files=args.files)
    print(
        f"wrote {corpus.pages:,} pages in {len(corpus.warc_paths)} WARC files to {corpus.folder}; "
        f"ground truth: {corpus.ground_truth_path}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corpus-prep", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the pipeline a YAML config describes",
        description="Run every pass of the pipeline that CONFIG describes. Rerunning the same config "
        "into the same output folder resumes: completed tasks are skipped.",
    )
    run.add_argument("config", type=Path, help="the run's YAML file, e.g. configs/default.yaml")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output folder written by a different config (default: refuse)",
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override one config value by its key path, e.g. --set executor.tasks=8 (repeatable)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars (for logs and CI)")
    run.set_defaults(handler=_cmd_run)

    sample = commands.add_parser(
        "sample",
        help="generate the synthetic sample crawl (WARC) with its ground truth",
        description="Write a deterministic synthetic web crawl: pages with navigation, cookie banners, "
        "footers and comments around generated articles; planted exact and near duplicates, personal "
        "data, non-English pages and broken records; and ground_truth.jsonl describing every page.",
    )
    sample.add_argument("--out", type=Path, required=True, help="folder to write the WARC files into")
    sample.add_argument("--pages", type=int, default=2000, help="HTML pages to generate (default 2000)")
    sample.add_argument("--seed", type=int, default=0, help="random seed; same seed, same bytes (default 0)")
    sample.add_argument("--files", type=int, default=8, help="WARC files to spread pages over (default 8)")
    sample.set_defaults(handler=_cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipeline.config import ConfigError
    from pipeline.runner import RunError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
