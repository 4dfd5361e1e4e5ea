"""The html stage against bare trafilatura and bare resiliparse on trafilatura's labelled pages
(`$CORPUS_PREP_DATA/html-dev`): F1 of must-contain / must-not-contain snippets, and pages/s."""

from __future__ import annotations

import sys

from bench.harness import Comparison
from pipeline.html_eval import evaluate, render
from pipeline.shared_data import shared_data_folder


def run() -> list[Comparison]:
    folder = shared_data_folder() / "html-dev"
    if not (folder / "evaldata.json").exists():
        print(
            f"html: skipped, {folder} not found (set CORPUS_PREP_DATA to the folder holding html-dev/)", file=sys.stderr
        )
        return []
    scores = {s.name: s for s in evaluate(folder)}
    print(render(list(scores.values())))
    bare = scores["bare trafilatura"]
    quality, fast = scores["html stage, trafilatura (quality)"], scores["html stage, resiliparse (fast)"]
    return [
        Comparison("html quality mode F1", "F1", quality.f1, bare.f1, "bare trafilatura F1", target=1.0),
        Comparison(
            "html fast mode F1", "F1", fast.f1, bare.f1, "bare trafilatura F1", target=(bare.f1 - 0.03) / bare.f1
        ),
        Comparison(
            "html fast mode speed",
            "pages/s",
            fast.pages_per_second,
            bare.pages_per_second,
            "bare trafilatura",
            target=5.0,
        ),
    ]
