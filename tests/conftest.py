import hashlib
import json
from pathlib import Path

import pytest

from pipeline.sample import generate_sample


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """A 160-page sample crawl over 4 WARC files, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("sample")
    generate_sample(folder, pages=160, seed=7, files=4)
    return folder


@pytest.fixture(scope="session")
def default_run(small_sample, tmp_path_factory):
    """configs/default.yaml on the small sample (2 tasks, vocabulary 1024, samples of 256 tokens), run
    once for the tests that only read its output (the reference for Ray, Slurm and the lock, the leak
    search): (output folder, RunResult). Tests must not write into it."""
    from pipeline.config import parse_config
    from pipeline.runner import run
    from tests.helpers.configs import small_default_config

    out = tmp_path_factory.mktemp("default-run") / "out"
    config = small_default_config([str(small_sample / "*.warc.gz")], "warc", out, 2, 2, 1024, 256)
    return out, run(parse_config(config), show_progress=False)


def ground_truth(folder: Path) -> list[dict]:
    with open(folder / "ground_truth.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def read_jsonl_zst(folder: Path) -> list[dict]:
    import io

    import zstandard

    rows = []
    for path in sorted(folder.glob("*.jsonl.zst")):
        with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
            rows += [json.loads(line) for line in io.TextIOWrapper(reader, encoding="utf-8")]
    return rows


def digest(text: str) -> str:
    """A short fingerprint of a text, for assertions: a failing comparison of digests cannot print the
    text itself, which may hold (generated) personal data."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
