"""configs/default.yaml, every stage, adapted to a test's input, output and a small corpus."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def small_default_config(
    inputs: list[str], input_format: str, out: Path, tasks: int, workers: int, vocab_size: int, max_seq_len: int
) -> dict:
    config = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    config["input"] = {"format": input_format, "paths": [str(p) for p in inputs]}
    config["output"]["folder"] = str(out)
    config["executor"] = {"kind": "local", "tasks": tasks, "workers": workers}
    for stage in config["stages"]:
        if stage["stage"] == "tokenize":
            stage["train"]["vocab_size"] = vocab_size
        if stage["stage"] == "mds":
            stage.update(max_seq_len=max_seq_len, buckets=min(tasks, 4))
    return config


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under the folder, by relative path: for byte-identity checks between two runs."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
