"""`corpus-prep`: the command line. Each subcommand's --help explains its options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Prepare LLM pretraining corpora: extract and clean web text, remove duplicates, scrub personal data,
tokenize, budget tokens against compute-optimal model sizes, and write sharded training data.

A run is described by one YAML file (see configs/default.yaml and the config reference in docs/config.md).
"""


def _cmd_run(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.runner import run

    config = load_config(args.config, overrides={key: _yaml_value(value) for key, value in args.set or []})
    if args.dry_run:
        from pipeline.dry_run import describe_run
        from pipeline.runner import ensure_sample

        ensure_sample(config)  # the input: planning needs its file list
        print(describe_run(config))
        if config.executor.kind == "slurm":
            from pipeline.runner import console_warnings_only
            from pipeline.slurm import dry_run

            console_warnings_only()  # datatrove logs every (pretend) launch at INFO
            print("\nbatch scripts that would be submitted, in order:\n")
            print(dry_run(config).describe())
        return 0
    if config.executor.kind == "slurm":
        from pipeline.runner import submit_to_slurm

        submission = submit_to_slurm(config, overwrite=args.overwrite)
        for job in submission.jobs:
            print(
                f"submitted job {job['id']}: {job['name']}"
                + (f" (after {job['dependency']})" if job["dependency"] else "")
            )
        print(f"the last job writes the report: {config.output.folder}/report.md")
        return 0
    result = run(config, overwrite=args.overwrite, show_progress=not args.no_progress)
    acc = result.accounting
    print(
        f"done: read {acc.read:,}, kept {acc.kept:,}, dropped {acc.dropped_total:,}, "
        f"quarantined {acc.quarantined_total:,}. Output: {result.layout.data}  Report: {result.layout.report_md}"
    )
    if (result.layout.mds / "index.json").exists():
        print(f"training data: {result.layout.mds} (corpus-prep inspect {result.layout.mds})")
    return 0


def _cmd_finish(args: argparse.Namespace) -> int:
    from pipeline.runner import finish_submitted

    acc = finish_submitted(args.folder).accounting
    counts = f"read {acc.read:,}, kept {acc.kept:,}, dropped {acc.dropped_total:,}"
    print(f"done: {counts}, quarantined {acc.quarantined_total:,}")
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from pipeline.shards import inspect_dataset

    print(inspect_dataset(_dataset_folder(args.folder), samples=args.samples, chars=args.chars))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.shards import verify_dataset

    folder = _dataset_folder(args.folder)
    result = verify_dataset(folder)
    for problem in result.problems:
        print(f"BAD {problem}", file=sys.stderr)
    if not result.ok:
        print(f"error: {len(result.problems)} problem(s) in {folder}; rerun the run to rewrite it", file=sys.stderr)
        return 1
    print(f"ok: {result.shards} shard(s), {result.files_checked} file(s) match index.json in {folder}")
    return 0


def _cmd_eval_html(args: argparse.Namespace) -> int:
    from pipeline.html_eval import evaluate, render

    folder = args.data / "html-dev"
    print(f"scoring extractors on {folder} (one process, page by page; trafilatura takes a few seconds per 100 pages)")
    print(render(evaluate(folder, args.limit)))
    return 0


def _cmd_eval_pii(args: argparse.Namespace) -> int:
    from pipeline.pii_eval import evaluate, render

    path = args.data if args.data.is_file() else args.data / "pii-dev" / "synth_dataset_v1.json"
    if not path.exists():
        print(
            f"error: {path} not found; pass --data FILE (presidio-research's JSON format) or a folder holding "
            "pii-dev/, or set CORPUS_PREP_DATA",
            file=sys.stderr,
        )
        return 2
    options = None
    if args.config:
        from pipeline.config import load_config

        options = next((s for s in load_config(args.config).stages if s.stage == "pii"), None)
        if options is None:
            print(f"error: {args.config} has no pii stage to score", file=sys.stderr)
            return 2
    print(render(evaluate(path, options)))
    return 0


def _dataset_folder(folder: Path) -> Path:
    """Accept a run's output folder as well as its mds/ folder."""
    return folder / "mds" if (folder / "mds" / "index.json").exists() else folder


def _yaml_value(text: str):
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # `--set output.folder=out/a:b` means the string


def _key_value(item: str) -> tuple[str, str]:
    key, equals, value = item.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{item!r} is not KEY=VALUE, e.g. --set executor.tasks=8")
    return key, value


def _cmd_sample(args: argparse.Namespace) -> int:
    from pipeline.sample import generate_sample

    corpus = generate_sample(args.out, pages=args.pages, seed=args.seed, files=args.files)
    print(
        f"wrote {corpus.pages:,} pages in {len(corpus.warc_paths)} WARC files to {corpus.folder}; "
        f"ground truth: {corpus.ground_truth_path}"
    )
    return 0


def _number(text: str, option: str) -> float:
    from pipeline.config import ConfigError, parse_quantity

    try:
        return float(parse_quantity(text))
    except ValueError:
        raise ConfigError(f"{option}: expected a number such as 2e9, 300B or 1.4T, got {text!r}") from None


def _cmd_budget(args: argparse.Namespace) -> int:
    import json

    from pydantic import ValidationError

    from pipeline.budget.plan import plan_budget
    from pipeline.budget.render import markdown, si, table
    from pipeline.budget.section import assumptions_from
    from pipeline.config import BudgetSettings, ConfigError, explain_validation_error

    if args.flops is not None:
        from pipeline.budget.scaling import FITS, optimal_by_loss, optimal_by_rule

        flops = _number(args.flops, "--flops")
        for label, (n, d) in (
            (f"{args.tokens_per_param:g} tokens/parameter", optimal_by_rule(flops, args.tokens_per_param)),
            (f"{args.fit} loss fit", optimal_by_loss(flops, FITS[args.fit])),
        ):
            print(f"compute-optimal for {flops:.3g} FLOPs by {label}: {si(n)} parameters on {si(d)} tokens")
        return 0
    tokens_by_source: dict[str, float] = {}
    if args.tokens is not None:
        tokens_by_source = {"all": _number(args.tokens, "--tokens")}
    elif args.run_folder is not None:
        report_path = args.run_folder / "report.json"
        if not report_path.exists():
            raise ConfigError(f"{report_path}: no report; is {args.run_folder} a finished run's output folder?")
        budget = json.loads(report_path.read_text()).get("budget")
        if not budget:
            raise ConfigError(f"{report_path}: the run had no `budget:` section; add one or pass --tokens")
        tokens_by_source = {s["source"]: s["tokens"] for s in budget["sources"]}
    else:
        raise ConfigError("give a finished run's output folder or --tokens N (e.g. --tokens 2e9 or 300B)")
    settings = {
        "targets": args.params,
        "fit": args.fit,
        "tokens_per_parameter": args.tokens_per_param,
        "gpu": args.gpu,
        "precision": args.precision,
        "mfu": args.mfu,
        "price_per_gpu_hour": args.price,
        "gpus": {args.gpu: {args.precision: args.peak_tflops * 1e12}} if args.peak_tflops else None,
    }
    try:
        assumptions = assumptions_from(BudgetSettings(**{k: v for k, v in settings.items() if v is not None}))
    except ValidationError as error:
        raise ConfigError(explain_validation_error(error, "corpus-prep budget")) from None
    try:
        budget = plan_budget(tokens_by_source, assumptions)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if args.markdown:
        print(markdown(budget))
        return 0
    print(
        f"unique tokens: {si(budget.tokens)}; compute-optimal model: {si(budget.optimal_parameters_rule)} "
        f"({args.tokens_per_param:g} tokens/param), {si(budget.optimal_parameters_loss)} ({args.fit} loss fit)"
    )
    print(f"cost on {args.gpu.upper()} {args.precision.upper()}, {args.mfu:.0%} MFU, ${args.price:g}/GPU-hour:")
    print(table(budget))
    if any(t.too_many_epochs for t in budget.targets):
        print("(!) more than 4 epochs: repeated data gives diminishing returns (Muennighoff et al. 2023)")
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
        "--dry-run",
        action="store_true",
        help="print the passes, their tasks, steps and resources, and exit without writing the output folder",
    )
    run.add_argument(
        "--set",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="override one config value by its key path, e.g. --set executor.tasks=8; a number indexes a list: "
        "--set stages.0.extractor=resiliparse (repeatable)",
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

    budget = commands.add_parser(
        "budget",
        help="what a corpus is worth: model sizes, epochs, predicted loss, compute and cost",
        description="Plan training on a corpus with the Chinchilla scaling law: for each model size, the "
        "compute-optimal token budget (tokens per parameter x parameters), the corpus's coverage of it, "
        "the epochs needed, the predicted loss (repeated data discounted as in Muennighoff et al. 2023), "
        "training FLOPs (6·N·D), GPU-hours and cost. Numbers accept suffixes: 125M, 1.3B, 300B, 1.4T.",
        epilog="examples:\n  corpus-prep budget out/default\n"
        "  corpus-prep budget --tokens 1.4T --params 70B --gpu a100 --mfu 0.45 --price 1.5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    budget.add_argument(
        "run_folder", type=Path, nargs="?", help="a finished run's output folder whose config had a `budget:` section"
    )
    budget.add_argument("--tokens", help="unique tokens in the corpus, instead of a run folder (e.g. 2e9, 300B)")
    budget.add_argument(
        "--params", action="append", metavar="N", help="a target model size, repeatable (default: 125M 350M 1.3B 7B)"
    )
    budget.add_argument(
        "--fit",
        choices=["chinchilla", "epoch-ai"],
        default="chinchilla",
        help="loss fit: Hoffmann et al. 2022 Eq. 10, or the Epoch AI replication (default chinchilla)",
    )
    budget.add_argument(
        "--tokens-per-param",
        type=float,
        default=20.0,
        help="compute-optimal tokens per parameter (default 20, the Chinchilla rule)",
    )
    budget.add_argument("--flops", help="instead: the compute-optimal N and D for this FLOP budget (e.g. 5.76e23)")
    budget.add_argument(
        "--gpu",
        default="h100",
        help="GPU for the cost: a100, h100, h200, b200 (peak dense TFLOP/s A100 312, H100/H200 989, FP8 1979; "
        "B200 2250, FP8 4500), or any name with --peak-tflops (default h100)",
    )
    budget.add_argument("--peak-tflops", type=float, help="peak dense TFLOP/s at --precision, overriding the table")
    budget.add_argument(
        "--precision", choices=["bf16", "fp8"], default="bf16", help="training precision (default bf16)"
    )
    budget.add_argument(
        "--mfu",
        type=float,
        default=0.45,
        help="model FLOPs utilisation, achieved / peak; 0.4-0.6 is typical (default 0.45)",
    )
    budget.add_argument("--price", type=float, default=2.0, help="dollars per GPU-hour (default 2.0)")
    budget.add_argument("--markdown", action="store_true", help="print the report section as Markdown")
    budget.set_defaults(handler=_cmd_budget)

    finish = commands.add_parser(
        "finish",
        help="write the accounting and report of a run whose passes ran as Slurm jobs",
        description="Check that every pass of the run in FOLDER completed (its completion markers), then write "
        "its accounting and report as `run` does. The last job of a Slurm submission runs this.",
    )
    finish.add_argument("folder", type=Path, help="the run's output folder (holding run.json)")
    finish.set_defaults(handler=_cmd_finish)

    inspect = commands.add_parser(
        "inspect",
        help="summarise an MDS dataset and decode its first samples",
        description="Show an MDS dataset's shards, samples, tokens, dtype, compression, packing and shuffle "
        "settings, and its first samples decoded back to text with the dataset's own tokenizer.json.",
    )
    inspect.add_argument("folder", type=Path, help="a run's output folder, or its mds/ folder")
    inspect.add_argument("--samples", type=int, default=2, help="samples to decode (default 2)")
    inspect.add_argument("--chars", type=int, default=400, help="characters to show per sample (default 400)")
    inspect.set_defaults(handler=_cmd_inspect)

    verify = commands.add_parser(
        "verify",
        help="check every shard of an MDS dataset against index.json",
        description="Check that every shard file listed in index.json exists with the recorded size and "
        "hashes. Exits 1 and names each bad or missing shard; 0 when all match.",
    )
    verify.add_argument("folder", type=Path, help="a run's output folder, or its mds/ folder")
    verify.set_defaults(handler=_cmd_verify)

    from pipeline.shared_data import shared_data_folder

    eval_html = commands.add_parser(
        "eval-html",
        help="score the html stage's extractors against bare trafilatura and resiliparse",
        description="Score main-content extraction on the snippet-labelled pages of DATA/html-dev "
        "(trafilatura's evaluation set): precision, recall and F1 of must-contain / must-not-contain "
        "snippets, and pages/s, for bare trafilatura, bare resiliparse and the html stage in both modes, "
        "all measured in this run.",
    )
    eval_html.add_argument(
        "--data",
        type=Path,
        default=shared_data_folder(),
        help="folder holding html-dev/ (default: $CORPUS_PREP_DATA, else shared/data beside the checkout)",
    )
    eval_html.add_argument("--limit", type=int, help="score only the first N pages")
    eval_html.set_defaults(handler=_cmd_eval_html)

    eval_pii = commands.add_parser(
        "eval-pii",
        help="score the pii stage against bare presidio on labelled sentences",
        description="Per-entity recall and precision of the pii step with its default settings on labelled "
        "sentences in presidio-research's JSON format (default: DATA/pii-dev, its 300 sentences), beside bare "
        "presidio AnalyzerEngine (its default recognizers, the same spaCy model) on the same sentences, entity "
        "types and score threshold, measured in this run. Every type the data labels is listed, also those "
        "the step does not look for.",
    )
    eval_pii.add_argument(
        "--data",
        type=Path,
        default=shared_data_folder(),
        help="a labelled file in presidio-research's format, or a folder holding pii-dev/",
    )
    eval_pii.add_argument(
        "--config", type=Path, help="score the pii stage as this run config sets it (default: its defaults)"
    )
    eval_pii.set_defaults(handler=_cmd_eval_pii)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help and usage errors exit here, before any heavy import
    from pipeline.config import ConfigError
    from pipeline.run_lock import FolderLocked
    from pipeline.runner import RunError
    from pipeline.shards import DamagedDatasetError

    try:
        return args.handler(args)
    except (ConfigError, RunError, FolderLocked, DamagedDatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a path that is missing, not writable, or on a full disk
        path = f" {error.filename}" if error.filename else ""
        print(f"error: {error.strerror or error}{':' + path if path else ''}. Check that the path exists and that "
              "this user can write to the output folder, then rerun.", file=sys.stderr)  # fmt: skip
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
