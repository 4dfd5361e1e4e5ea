"""Input from and MDS output to object storage, against a real S3-compatible server run locally
(moto's standalone server, never the internet); StreamingDataset reads the dataset back from it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.configs import small_default_config

ROOT = Path(__file__).resolve().parents[1]

moto_server = pytest.importorskip("moto.server")
s3fs = pytest.importorskip("s3fs")


@pytest.fixture
def s3(monkeypatch):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,  # botocore (s3fs) reads it
        "S3_ENDPOINT_URL": endpoint,  # mosaicml-streaming reads this one
    }.items():
        monkeypatch.setenv(name, value)
    filesystem = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
    filesystem.mkdir("corpus")
    yield filesystem
    server.stop()


def test_input_from_s3_and_training_data_to_s3_read_back_by_streaming(small_sample, s3, tmp_path):
    for path in sorted(small_sample.glob("*.warc.gz")):
        s3.put_file(str(path), f"corpus/crawl/{path.name}")
    config = small_default_config(["s3://corpus/crawl/*.warc.gz"], "warc", tmp_path / "out", 4, 2, 1024, 256)
    for stage in config["stages"]:
        if stage["stage"] == "mds":
            stage["remote"] = "s3://corpus/datasets/sample"
    # In a fresh process, as a user runs it: task processes fork from a server that an earlier test in
    # this session may have started before the credentials above were in the environment.
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(path), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    accounting = json.loads((tmp_path / "out" / "report.json").read_text())["accounting"]
    pages = len([row for row in (small_sample / "ground_truth.jsonl").read_text().splitlines() if row])
    assert accounting["balanced"] and accounting["read"] == pages
    local_index = json.loads((tmp_path / "out" / "mds" / "index.json").read_text())
    assert json.loads(s3.cat_file("corpus/datasets/sample/index.json")) == local_index

    from streaming import StreamingDataset

    dataset = StreamingDataset(
        remote="s3://corpus/datasets/sample", local=str(tmp_path / "cache"), shuffle=False, batch_size=1
    )
    samples = [dataset[i]["tokens"] for i in range(len(dataset))]
    assert len(samples) == sum(shard["samples"] for shard in local_index["shards"]) > 0
    assert all(len(s) == 256 for s in samples)

    # And as training reads it: our loader fetches index.json and manifest.json, checks them, then streams.
    from pipeline.loader import streaming_loader

    loader = streaming_loader(tmp_path / "cache2", batch_size=4, remote="s3://corpus/datasets/sample")
    assert sum(len(batch["tokens"]) for batch in loader) == len(samples)
