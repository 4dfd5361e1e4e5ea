"""Input readers for the formats a run accepts: WARC, a folder of HTML files, JSONL and Parquet.

They subclass datatrove's readers (sharding files across tasks, stats, fsspec paths) and change what
datatrove does with bad records: an empty document is passed on (a later stage drops it with a
reason); a malformed record is quarantined in the ledger instead of skipped with a log line.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger

from pipeline.io.charset import decode_html
from stages.base import QUARANTINED, Ledger, describe_error

HTML_TYPES = ("text/html", "application/xhtml+xml")


class UniqueIds:
    """Makes the ids a task reads unique: a repeated id becomes `<id>#2`, `#3`, ... in reading order.

    The ledger and the report name documents by id, so two documents must not share one. The check
    is per task (a set of the task's ids); dedup itself never relies on ids (stages/dedup/keys.py), so
    a repeat across tasks costs clarity in the ledger, never a wrong removal.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self.renamed = 0

    def make_unique(self, doc: Document) -> bool:
        if doc.id not in self._seen:
            self._seen.add(doc.id)
            return False
        number = 2
        while f"{doc.id}#{number}" in self._seen:
            number += 1
        doc.id = f"{doc.id}#{number}"
        self._seen.add(doc.id)
        self.renamed += 1
        return True


class AccountedReader(BaseDiskReader):
    """Reads the files it is given, `files[rank::world_size]`, and records quarantined records.

    With fewer files than tasks and `share_files`, tasks share files instead of idling (datatrove gives
    each file to one task): the tasks on a file each take every n-th record of it, by record index.
    Each still reads the whole file, but parsing is cheap next to what the stages do with a record.

    Stats: `documents` (read), `quarantined` and `quarantined/<reason>`, plus each format's own.
    """

    name = "read"
    renames_repeated_ids = True  # the run's input; not the documents passed between its passes

    def __init__(self, data_folder: str, files: list[str], metadata_keys: list[str] | None = None,
                 share_files: bool = True, **kwargs):  # fmt: skip
        super().__init__(data_folder, **kwargs)
        self.files = files
        self.metadata_keys = metadata_keys
        self.share_files = share_files
        self.ledger_folder: str | None = None
        self.ledger_name = "read"
        self._ledger: Ledger | None = None
        self._part = (0, 1)

    def assignment(self, rank: int, world_size: int) -> list[tuple[str, int, int]]:
        """(file, part, parts) this task reads: every `parts`-th record of the file, from `part`."""
        files = self.files
        if not self.share_files or not files or len(files) >= world_size:
            return [(f, 0, 1) for f in files[rank::world_size]]
        sharing = [r for r in range(world_size) if r % len(files) == rank % len(files)]
        return [(files[rank % len(files)], sharing.index(rank), len(sharing))]

    def mine(self, record_index: int) -> bool:
        part, parts = self._part
        return record_index % parts == part

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        ids = UniqueIds()
        with Ledger(self.ledger_folder, self.ledger_name, rank) as self._ledger:
            for filepath, part, parts in self.assignment(rank, world_size):
                self._part = (part, parts)
                for doc in self.read_files_shard([filepath]):
                    if self.renames_repeated_ids and ids.make_unique(doc):
                        self.stat_update("duplicate_ids")
                    self.update_doc_stats(doc)
                    yield doc
        if ids.renamed:
            logger.warning(
                f"{ids.renamed:,} document(s) repeated an id read before by this task and were renamed "
                "<id>#<n> (stat read/duplicate_ids); give each input document its own id to keep yours"
            )

    def quarantine(self, record_id: str, reason: str) -> None:
        self.stat_update(QUARANTINED, f"{QUARANTINED}/{reason.split(':')[0]}")
        if self._ledger:
            self._ledger.record(record_id, QUARANTINED, reason)

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str) -> Document:
        parsed = self.adapter(data, source_file, id_in_file)
        text = parsed.get("text")
        metadata = parsed.get("metadata") or {}
        if self.metadata_keys is not None:
            metadata = {key: metadata[key] for key in self.metadata_keys if key in metadata}
        metadata.setdefault("file_path", source_file)
        return Document(text="" if text is None else str(text), id=str(parsed["id"]), metadata=metadata)


class AccountedJsonlReader(AccountedReader, JsonlReader):
    """JSONL (optionally compressed); a line that is not a JSON object is quarantined as `malformed_json`."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        import orjson

        # Text mode (zstd streams cannot read lines in binary); bad UTF-8 becomes surrogates, which
        # orjson rejects, so such a line is quarantined instead of ending the file.
        with self.data_folder.open(filepath, "rt", compression=self.compression, errors="surrogateescape") as f:
            line_number = -1
            try:
                for line_number, line in enumerate(f):
                    if not self.mine(line_number):
                        continue
                    try:
                        row = orjson.loads(line)
                        if not isinstance(row, dict):
                            raise TypeError(f"a JSON {type(row).__name__}, not an object")
                        for media in row.get("media", []):
                            if media.get("media_bytes") is not None:
                                media["media_bytes"] = base64.decodebytes(media["media_bytes"].encode("ascii"))
                    except (orjson.JSONDecodeError, TypeError) as error:
                        self.quarantine(f"{filepath}/{line_number}", f"malformed_json: {type(error).__name__}")
                        continue
                    yield self.get_document_from_dict(row, filepath, line_number)
            except (OSError, EOFError, zlib.error) as error:  # truncated or corrupt compressed file
                self.quarantine(f"{filepath}/after-line-{line_number}", f"unreadable_file: {describe_error(error, '')}")


class AccountedParquetReader(AccountedReader, ParquetReader):
    """Parquet; an unreadable file is quarantined as `unreadable_file`."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        self._row = -1
        try:
            yield from super().read_file(filepath)
        except OSError as error:
            self.quarantine(filepath, f"unreadable_file: {describe_error(error, '')}")

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str) -> Document | None:
        # datatrove counts only the rows it yields; the row's own index keeps ids and shares stable.
        self._row += 1
        if not self.mine(self._row):
            return None
        return super().get_document_from_dict(data, source_file, self._row)


class WarcReader(AccountedReader):
    """WARC or WARC.gz: one document per HTML response, `doc.text` the decoded HTML.

    Writes metadata `url`, `date`, `charset`, `file_path`. Stats: `records/<kind>` for every record
    (html, request, metadata, non_html_response, revisit, ...) and `records/digest_quirk` for pages
    kept although their payload digest is really the block digest (ClueWeb09). A page that no charset
    decodes is quarantined as `undecodable`, one whose digest fails as `digest_mismatch`, one the file
    ends inside as `truncated_record`; an unreadable file position ends the file as `corrupt_warc`.
    """

    def read_file(self, filepath: str) -> Iterator[Document]:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        with self.data_folder.open(filepath, "rb") as f:
            index = -1
            try:
                # Digests are checked per record rather than raised: one bad record must not end its file.
                for index, record in enumerate(ArchiveIterator(f, check_digests=True)):
                    if not self.mine(index):
                        continue
                    kind = _record_kind(record)
                    self.stat_update(f"records/{kind}")
                    if kind != "html":
                        continue
                    record_id = record.rec_headers.get_header("WARC-Record-ID") or f"{filepath}/{index}"
                    with self.track_time():
                        body = record.content_stream().read()
                        missing = getattr(record.raw_stream, "limit", 0)
                        if missing:  # the file ends inside this record: its Content-Length was not there
                            self.quarantine(record_id, f"truncated_record: {missing:,} bytes missing")
                            continue
                        problems = list(record.digest_checker.problems)
                        record.digest_checker.problems.clear()
                        if problems and _only_payload_digest_is_the_block_digest(record, problems):
                            self.stat_update("records/digest_quirk")  # the block digest verified the bytes
                        elif problems:
                            self.quarantine(record_id, f"digest_mismatch: {problems[0][:80]}")
                            continue
                        decoded = decode_html(body, record.http_headers.get_header("Content-Type"))
                    if decoded is None:
                        self.quarantine(record_id, "undecodable: no charset decodes the page")
                        continue
                    text, charset = decoded
                    metadata = {
                        "url": record.rec_headers.get_header("WARC-Target-URI"),
                        "date": record.rec_headers.get_header("WARC-Date"),
                        "charset": charset,
                    }
                    yield self.get_document_from_dict(
                        {"text": text, "id": record_id, "metadata": metadata}, filepath, index
                    )
            except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as error:
                self.quarantine(f"{filepath}/after-record-{index}", f"corrupt_warc: {describe_error(error, '')}")


def _only_payload_digest_is_the_block_digest(record, problems: list[str]) -> bool:
    """ClueWeb09's writer stores the block digest (HTTP headers + payload) as the payload digest too: the
    payload check then fails on intact bytes while the block check, over the same bytes, passes."""
    headers = record.rec_headers
    payload, block = headers.get_header("WARC-Payload-Digest"), headers.get_header("WARC-Block-Digest")
    return bool(payload) and payload == block and all(p.startswith("payload digest failed") for p in problems)


def _record_kind(record) -> str:
    if record.rec_type != "response":
        return record.rec_type
    if record.http_headers is None:
        return "non_http_response"
    content_type = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
    return "html" if content_type in HTML_TYPES or not content_type else "non_html_response"


class HtmlFolderReader(AccountedReader):
    """Files of HTML: one document per file, id the file's path, `doc.text` the decoded HTML."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        with self.data_folder.open(filepath, "rb") as f:
            body = f.read()
        decoded = decode_html(body)
        if decoded is None:
            self.quarantine(filepath, "undecodable: no charset decodes the page")
            return
        text, charset = decoded
        yield self.get_document_from_dict({"text": text, "id": filepath, "metadata": {"charset": charset}}, filepath, 0)
