"""End-to-end runs of the engine on the generated sample: accounting, resume, failures, safety."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pipeline.config import parse_config
from pipeline.runner import RunError, run
from tests.conftest import ground_truth, read_jsonl_zst
from tests.helpers.failures import assert_first_pass_failure_is_named

ROOT = Path(__file__).resolve().parents[1]


def _config(sample: Path, out: Path, **executor) -> dict:
    return {
        "input": {"format": "warc", "paths": [str(sample / "*.warc.gz")]},
        "stages": [{"stage": "normalize"}, {"stage": "exact_dedup"}],
        "output": {"folder": str(out), "format": "jsonl"},
        "executor": {"tasks": 4, "workers": 2, **executor},
    }


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *arguments], capture_output=True, text=True, cwd=ROOT)


def _ledger(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "accounting").glob("*/*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


@pytest.fixture(scope="module")
def finished_run(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    result = run(parse_config(_config(small_sample, out)), show_progress=False)
    return small_sample, out, result


def test_every_document_is_accounted_for(finished_run):
    sample, out, result = finished_run
    truth = ground_truth(sample)
    kept = read_jsonl_zst(out / "data")
    ledger = _ledger(out)
    acc = result.accounting
    assert acc.read == len(truth)
    assert acc.kept == len(kept)
    assert acc.read == acc.kept + acc.dropped_total + acc.quarantined_total
    # each input id ends in exactly one place
    ends = [doc["id"] for doc in kept] + [row["id"] for row in ledger]
    assert Counter(ends) == Counter(page["id"] for page in truth)


def test_exact_duplicates_and_empty_pages_are_dropped_with_reasons(finished_run):
    sample, out, _ = finished_run
    truth = ground_truth(sample)
    reasons = {row["id"]: row["reason"] for row in _ledger(out)}
    exact = [p for p in truth if p["kind"] == "exact_duplicate"]
    empty = [p for p in truth if p["broken"] == "empty_body"]
    assert exact and empty
    assert Counter(reasons.values())["exact_duplicate"] == len(exact)
    # of each group of identical pages exactly one survives
    kept_ids = {doc["id"] for doc in read_jsonl_zst(out / "data")}
    groups: dict[str, set] = {}
    for page in exact:
        groups.setdefault(page["duplicate_of"], {page["duplicate_of"]}).add(page["id"])
    assert all(len(group & kept_ids) == 1 for group in groups.values())
    assert all(reasons[p["id"]] == "empty" for p in empty)


def test_report_has_steps_totals_and_config(finished_run):
    _, out, result = finished_run
    report = json.loads((out / "report.json").read_text())
    steps = {row["step"]: row for row in report["steps"]}
    assert steps["01-normalize"]["documents_in"] == result.accounting.read
    assert steps["01-normalize"]["bytes_in"] > 0 and steps["01-normalize"]["seconds"] > 0
    assert (
        steps["02-exact_dedup.filter"]["dropped"]
        == result.accounting.dropped["02-exact_dedup.filter", "exact_duplicate"]
    )
    assert report["accounting"]["balanced"] is True
    assert report["input_records"]["html"] == result.accounting.read
    assert report["input_records"]["request"] >= 1
    assert report["config"]["stages"][1]["stage"] == "exact_dedup"
    markdown = (out / "report.md").read_text()
    assert "| read | kept | dropped | quarantined |" in markdown and "holds" in markdown


def test_report_shows_the_funnel_of_documents_after_each_stage(finished_run):
    _, out, result = finished_run
    report = json.loads((out / "report.json").read_text())
    funnel = {row["stage"]: row["documents"] for row in report["funnel"]}
    acc = result.accounting
    assert list(funnel) == ["read", "normalize", "exact_dedup"]
    assert funnel["read"] == acc.read and funnel["exact_dedup"] == acc.kept
    assert funnel["read"] - funnel["normalize"] == sum(n for (step, _), n in acc.dropped.items() if "normalize" in step)
    assert report["funnel_plotted"] and (out / "funnel.png").stat().st_size > 0
    assert "## Funnel" in (out / "report.md").read_text()


def test_report_profiles_time_per_stage_and_pass(finished_run):
    _, out, _ = finished_run
    report = json.loads((out / "report.json").read_text())
    stages = {row["stage"]: row for row in report["profile"]["stages"]}
    assert list(stages) == ["read/write", "normalize", "exact_dedup"]
    step_seconds = sum(row["seconds"] for row in report["steps"])
    assert sum(row["cpu_seconds"] for row in stages.values()) == pytest.approx(step_seconds, abs=0.01)
    assert sum(row["share"] for row in stages.values()) == pytest.approx(1.0, abs=0.001)
    # the find pass is timed too, not only the per-document steps
    find = next(row for row in report["steps"] if row["step"] == "exact_dedup.find")
    assert find["seconds"] > 0
    normalize = stages["normalize"]
    assert normalize["documents_per_cpu_second"] == pytest.approx(
        normalize["documents"] / normalize["cpu_seconds"], rel=0.01
    )
    passes = report["profile"]["passes"]
    assert [row["pass"] for row in passes] == ["1-documents", "2-exact_dedup", "3-documents"]
    assert all(row["wall_seconds"] > 0 for row in passes)
    assert report["wall_seconds"] >= max(row["wall_seconds"] for row in passes)
    markdown = (out / "report.md").read_text()
    slowest = max((row for name, row in stages.items() if name != "read/write"), key=lambda r: r["cpu_seconds"])
    assert f"Slowest stage: **{slowest['stage']}**" in markdown
    assert (out / "profile.png").stat().st_size > 0


def test_one_task_and_four_tasks_keep_the_same_documents(finished_run, tmp_path):
    sample, out, _ = finished_run
    single = run(parse_config(_config(sample, tmp_path / "one", tasks=1, workers=1)), show_progress=False)
    by_id = lambda rows: {r["id"]: r["text"] for r in rows}  # noqa: E731
    assert by_id(read_jsonl_zst(single.layout.data)) == by_id(read_jsonl_zst(out / "data"))


def test_rerun_of_a_finished_run_redoes_nothing(finished_run):
    sample, out, result = finished_run
    stamps = {p: p.stat().st_mtime_ns for p in (out / "logs").glob("*/stats/*.json")}
    again = run(parse_config(_config(sample, out)), show_progress=False)
    assert {p: p.stat().st_mtime_ns for p in (out / "logs").glob("*/stats/*.json")} == stamps
    assert again.accounting.to_dict() == result.accounting.to_dict()


def test_other_config_into_same_folder_is_refused_unless_overwrite(finished_run, tmp_path):
    sample, out, _ = finished_run
    other = tmp_path / "out"
    run(parse_config(_config(sample, other)), show_progress=False)
    changed = _config(sample, other)
    changed["stages"] = [{"stage": "normalize", "min_chars": 50}]
    with pytest.raises(RunError, match="different config.*--overwrite"):
        run(parse_config(changed), show_progress=False)
    result = run(parse_config(changed), overwrite=True, show_progress=False)
    assert result.accounting.balanced


def test_failed_task_fails_the_run_naming_task_and_log(small_sample, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    logs = assert_first_pass_failure_is_named(parse_config(_config(small_sample, out)))
    # The first task to fail stops the pass: the pool ends the other running tasks, whose logs may be cut
    # off before their error, so one named log (not necessarily the first) holds it.
    assert any("NotADirectoryError" in log.read_text() for log in logs)


def test_cli_exits_non_zero_on_failed_task(small_sample, tmp_path):
    out = tmp_path / "out"
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config(small_sample, out)))
    first = _cli("run", str(path), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert "done: read 160" in first.stdout
    for marker in (out / "logs" / "1-documents" / "completions").iterdir():
        marker.unlink()  # force the first pass to run again ...
    written = out / "work" / "documents" / "1-documents"
    written.rename(out / "moved-away")
    written.write_text("in the way")  # ... into an output that cannot be written
    second = _cli("run", str(path), "--no-progress")
    assert second.returncode != 0
    assert "did not complete" in second.stderr and "task_0000" in second.stderr


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_output(tmp_path):
    """SIGKILL the CLI once some tasks have completed; the rerun skips them and matches a clean run."""
    sample = tmp_path / "sample"
    from pipeline.sample import generate_sample

    generate_sample(sample, pages=1200, seed=11, files=8)
    clean_out, killed_out = tmp_path / "clean", tmp_path / "killed"
    clean = run(parse_config(_config(sample, clean_out, tasks=8, workers=1)), show_progress=False)

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config(sample, killed_out, tasks=8, workers=1)))
    command = [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    completions = killed_out / "logs" / "1-documents" / "completions"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(completions.glob("*"))) < 3 and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed; give it more pages"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = {
        p.name: (killed_out / "logs/1-documents/stats" / f"{p.name}.json").stat().st_mtime_ns
        for p in completions.iterdir()
    }
    assert 3 <= len(done_before) < 8

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    for name, stamp in done_before.items():  # completed tasks were not redone
        assert (killed_out / "logs/1-documents/stats" / f"{name}.json").stat().st_mtime_ns == stamp
    for clean_file in sorted((clean_out / "data").iterdir()):
        assert (killed_out / "data" / clean_file.name).read_bytes() == clean_file.read_bytes()
    report = json.loads((killed_out / "report.json").read_text())
    assert report["accounting"] == clean.accounting.to_dict()


def test_jsonl_input_with_bad_lines_to_parquet_output(tmp_path):
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    for part in range(3):
        lines = [
            json.dumps({"doc": f"text {part}-{i}  with   spaces", "key": f"{part}-{i}", "lang": "en"}) for i in range(5)
        ]
        lines += ["{broken", json.dumps({"doc": "   ", "key": f"{part}-blank"})]
        (folder / f"part-{part}.jsonl").write_text("\n".join(lines) + "\n")
    config = parse_config(
        {
            "input": {
                "format": "jsonl",
                "paths": [str(folder / "*.jsonl")],
                "text_key": "doc",
                "id_key": "key",
                "metadata_keys": ["lang"],
            },
            "stages": [{"stage": "normalize"}],
            "output": {"folder": str(tmp_path / "out"), "format": "parquet"},
            "executor": {"tasks": 2, "workers": 2},
        }
    )
    result = run(config, show_progress=False)
    table = pq.read_table(sorted((tmp_path / "out" / "data").glob("*.parquet")))
    acc = result.accounting
    assert (acc.read, acc.kept, acc.dropped_total, acc.quarantined_total) == (21, 15, 3, 3)
    assert table.num_rows == 15
    assert sorted(table.column("id").to_pylist())[0] == "0-0"
    assert "text 0-0 with spaces" in table.column("text").to_pylist()
    assert table.column("metadata").to_pylist()[0]["lang"] == "en"


def test_a_pass_can_read_documents_written_as_parquet(tmp_path):
    """Aggregation passes read the documents a pass wrote, in the run's output format, listing the
    files only when they run (the files do not exist when the plan is made)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.plan import _documents_reader

    reader = _documents_reader(str(tmp_path), "parquet")
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["one", "two"]}), tmp_path / "00000.parquet")
    assert [doc.id for doc in reader.run()] == ["a", "b"]


def test_dry_run_prints_the_passes_and_writes_nothing(small_sample, tmp_path):
    path = tmp_path / "run.yaml"
    config = _config(small_sample, tmp_path / "out")
    config["stages"].append({"stage": "minhash_dedup"})
    path.write_text(yaml.safe_dump(config))
    completed = _cli("run", str(path), "--dry-run")
    assert completed.returncode == 0, completed.stderr
    assert not (tmp_path / "out").exists()
    lines = completed.stdout.splitlines()
    assert "input: 4 warc file(s)" in completed.stdout and "executor: local; 4 tasks, 2 at a time" in completed.stdout
    passes = [line for line in lines if re.match(r"\s+\d+\. ", line)]
    assert [p.split()[1] for p in passes] == [
        "1-documents",
        "2-exact_dedup",
        "3-documents",
        "4-minhash_dedup",
        "5-documents",
    ]


@pytest.mark.parametrize("input_format", ["jsonl", "warc"])
def test_one_big_input_file_gives_every_task_work(tmp_path, input_format):
    if input_format == "jsonl":
        path = tmp_path / "big.jsonl"
        path.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document number {i}"}) + "\n" for i in range(200)))
    else:
        from pipeline.sample import generate_sample

        generate_sample(tmp_path / "sample", pages=60, seed=2, files=1)
        path = tmp_path / "sample" / "crawl-00000.warc.gz"

    def documents_per_task(share: bool) -> tuple[list[int], set[str]]:
        out = tmp_path / f"out-{share}"
        config = {
            "input": {"format": input_format, "paths": [str(path)], "share_files": share},
            "stages": [{"stage": "normalize"}],
            "output": {"folder": str(out), "format": "jsonl"},
            "executor": {"tasks": 4, "workers": 2},
        }
        result = run(parse_config(config), show_progress=False)
        assert result.accounting.balanced
        per_task = []
        for rank in range(4):
            stats = json.loads((out / "logs" / "1-documents" / "stats" / f"{rank:05d}.json").read_text())
            per_task.append(stats[0]["stats"].get("documents", {}).get("total", 0))
        return per_task, {d["id"] for d in read_jsonl_zst(out / "data")}

    shared, shared_ids = documents_per_task(True)
    alone, alone_ids = documents_per_task(False)
    assert all(n > 0 for n in shared) and sum(shared) == sum(alone)
    assert sorted(alone, reverse=True)[1:] == [0, 0, 0]  # datatrove alone: one task does everything
    assert shared_ids == alone_ids


WORKER_MODULES_SCRIPT = """
import json
import sys
import multiprocess
from pipeline.worker_imports import start_fork_server
from stages.mds import MdsOptions
from stages.pii import PiiOptions

start_fork_server([PiiOptions(), MdsOptions()])

def modules_at_start(names):
    import sys
    return [name for name in names if name in sys.modules]

with multiprocess.get_context("forkserver").Pool(1) as pool:
    in_worker = pool.map(modules_at_start, [NAMES])[0]
print(json.dumps({"worker": in_worker, "main": modules_at_start(NAMES)}))
"""


def test_pool_workers_fork_with_their_stages_libraries_already_imported():
    names = ["presidio_analyzer", "spacy", "streaming.base.format.mds.writer", "stages.pii.steps"]
    # A fresh interpreter: the fork server is per process, and this one's may have started without them.
    result = subprocess.run(
        [sys.executable, "-c", f"NAMES = {names!r}" + WORKER_MODULES_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert modules["worker"] == names
    assert modules["main"] == []  # the main process stays light: the fork server imported them
