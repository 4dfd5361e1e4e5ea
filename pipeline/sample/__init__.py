"""Deterministic synthetic web crawl: WARC pages with boilerplate, duplicates, personal data and broken
records, plus the ground truth that tests and reports score the stages against."""

from pipeline.sample.generator import SampleCorpus, generate_sample

__all__ = ["SampleCorpus", "generate_sample"]
