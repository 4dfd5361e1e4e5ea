"""The decontaminate stage: a benchmark passage planted in the corpus is found and its documents dropped."""

import json

import pytest

from pipeline.config import ConfigError, parse_config
from pipeline.runner import run
from tests.conftest import ground_truth, read_jsonl_zst


def _benchmarks(sample, folder):
    """A quiz whose one question is a paragraph of a sample article, and trivia the corpus never holds."""
    planted = next(row for row in ground_truth(sample) if row["kind"] == "original" and row["article_paragraphs"])
    passage = max(planted["article_paragraphs"], key=len)
    quiz = folder / "quiz.jsonl"
    quiz.write_text(
        json.dumps({"question": passage, "choices": ["yes", "no"], "answer": 0}) + "\n"
        + json.dumps({"question": "Which planet has the longest day of all the planets in the solar system?"}) + "\n"
    )  # fmt: skip
    trivia = folder / "trivia.txt"
    trivia.write_text("Quokkas are small marsupials found on Rottnest Island near the city of Perth in Australia.\n")
    return planted, passage, [str(quiz), str(trivia)]


def _config(sample, out, benchmarks, **options):
    return {
        "input": {"format": "warc", "paths": [str(sample / "*.warc.gz")]},
        "stages": [{"stage": "html"}, {"stage": "decontaminate", "benchmarks": benchmarks, **options}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": 2, "workers": 1},
    }


def test_a_planted_benchmark_passage_is_found_and_reported(small_sample, tmp_path):
    planted, passage, benchmarks = _benchmarks(small_sample, tmp_path)
    result = run(parse_config(_config(small_sample, tmp_path / "out", benchmarks)), show_progress=False)
    kept = read_jsonl_zst(tmp_path / "out" / "data")
    ledger = [
        json.loads(line)
        for path in (tmp_path / "out" / "accounting").glob("*decontaminate/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    dropped = {row["id"] for row in ledger if row["reason"] == "contaminated/quiz"}
    assert planted["id"] in dropped
    words = passage.split()
    probe = " ".join(words[len(words) // 2 - 6 : len(words) // 2 + 6])  # a 12-word run from the middle
    assert not any(probe in doc["text"] for doc in kept), "a document holding the passage was kept"
    assert result.accounting.balanced
    assert result.report["decontamination"] == {"quiz": len(dropped), "trivia": 0}
    assert "| quiz |" in (tmp_path / "out" / "report.md").read_text()


def test_flagging_keeps_the_documents_and_marks_them(small_sample, tmp_path):
    planted, _, benchmarks = _benchmarks(small_sample, tmp_path)
    run(parse_config(_config(small_sample, tmp_path / "out", benchmarks, action="flag")), show_progress=False)
    flagged = {d["id"]: d["metadata"] for d in read_jsonl_zst(tmp_path / "out" / "data")}
    assert flagged[planted["id"]]["contaminated_task"] == "quiz"


def test_a_missing_benchmark_file_is_a_config_error_before_anything_runs(small_sample, tmp_path):
    config = parse_config(_config(small_sample, tmp_path / "out", [str(tmp_path / "absent.jsonl")]))
    with pytest.raises(ConfigError, match="stages.1 \\(decontaminate\\): benchmark file\\(s\\) not found"):
        run(config, show_progress=False)
    assert not (tmp_path / "out").exists()
