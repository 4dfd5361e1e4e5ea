"""Input readers for the formats a run accepts: WARC, a folder of HTML files, JSONL and Parquet.

They subclass datatrove's readers (sharding files across tasks, stats, fsspec paths) and change what
datatrove does with bad records: an empty document is passed on (a later stage drops it with a
reason); a malformed record is quarantined in the ledger instead of skipped with a log line; a record
over `max_record_bytes` is stopped there and quarantined (PageTooLarge) before it is held in memory;
any error while parsing one record quarantines that record and reading goes on. Ledger reasons name
the error's type, never its message: parser messages quote the raw bytes, which may hold personal data.
"""

from __future__ import annotations

import contextlib
import io
import zlib
from collections.abc import Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.io.charset import decode_html
from pipeline.ledger import QUARANTINED, Ledger

HTML_TYPES = ("text/html", "application/xhtml+xml")
DEFAULT_MAX_RECORD_BYTES = 64_000_000


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

    Stats: `documents` (read), `quarantined` and `quarantined/<reason>`, plus each format's own. A
    record whose text or id is neither missing nor a string (an integer id is fine) is quarantined as
    `bad_field`, not stringified: `str({'nested': ...})` is not a text.
    """

    name = "read"
    renames_repeated_ids = True  # the run's input; not the documents passed between its passes

    def __init__(self, data_folder: str, files: list[str], metadata_keys: list[str] | None = None,
                 share_files: bool = True, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
                 **kwargs):  # fmt: skip
        super().__init__(data_folder, **kwargs)
        self.files = files
        self.max_record_bytes = max_record_bytes
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

    def reports_file_damage(self) -> bool:
        """Of the tasks sharing a file, one records damage to the file itself (not to a record)."""
        return self._part[0] == 0

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

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str) -> Document | None:
        """The record as a Document, or None after quarantining it."""
        parsed = self.adapter(data, source_file, id_in_file)
        text, doc_id = parsed.get("text"), parsed.get("id")
        record_id = doc_id if isinstance(doc_id, str) else f"{source_file}/{id_in_file}"
        if text is not None and not isinstance(text, str):
            self.quarantine(record_id, f"bad_field: text is a {type(text).__name__}, not a string")
            return None
        if not isinstance(doc_id, str) and (not isinstance(doc_id, int) or isinstance(doc_id, bool)):
            self.quarantine(record_id, f"bad_field: id is a {type(doc_id).__name__}, not a string")
            return None
        metadata = parsed.get("metadata") or {}
        if self.metadata_keys is not None:
            metadata = {key: metadata[key] for key in self.metadata_keys if key in metadata}
        metadata.setdefault("file_path", source_file)
        return Document(text=text or "", id=str(doc_id), metadata=metadata)

    def too_large(self, record_id: str) -> None:
        self.quarantine(record_id, f"PageTooLarge: over {self.max_record_bytes:,} bytes (input.max_record_bytes)")

    def unreadable_record(self, record_id: str, error: BaseException) -> None:
        self.quarantine(record_id, f"unreadable_record: {type(error).__name__}")


class AccountedJsonlReader(AccountedReader, JsonlReader):
    """JSONL (optionally compressed). A line that is not a JSON object is quarantined as `malformed_json`,
    one longer than `max_record_bytes` characters as `PageTooLarge` (read in pieces, never whole), and a
    file that ends in a damaged compressed stream as `unreadable_file` after its readable lines."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        import orjson

        # Text mode (zstd streams cannot read lines in binary); bad UTF-8 becomes surrogates, which
        # orjson rejects, so such a line is quarantined instead of ending the file.
        with self.data_folder.open(filepath, "rt", compression=self.compression, errors="surrogateescape") as f:
            line_number = -1
            try:
                for line_number, line in enumerate(self._bounded_lines(f)):
                    if not self.mine(line_number):
                        continue
                    record_id = f"{filepath}/{line_number}"
                    if line is None:
                        self.too_large(record_id)
                        continue
                    try:
                        row = orjson.loads(line)
                        if not isinstance(row, dict):
                            raise TypeError(f"a JSON {type(row).__name__}, not an object")
                        document = self.get_document_from_dict(row, filepath, line_number)
                    except (orjson.JSONDecodeError, TypeError) as error:
                        self.quarantine(record_id, f"malformed_json: {type(error).__name__}")
                        continue
                    except Exception as error:  # MemoryError included: one record, not the run
                        self.unreadable_record(record_id, error)
                        continue
                    if document is not None:
                        yield document
            except (OSError, EOFError, zlib.error) as error:  # truncated or corrupt compressed file
                if self.reports_file_damage():
                    self.quarantine(f"{filepath}/after-line-{line_number}", f"unreadable_file: {type(error).__name__}")

    def _bounded_lines(self, f) -> Iterator[str | None]:
        """The file's lines; None for a line over the limit, whose rest is read in pieces and discarded."""
        limit = self.max_record_bytes
        while line := f.readline(limit + 1):
            if len(line) <= limit or line.endswith("\n"):
                yield line
                continue
            while (rest := f.readline(limit)) and not rest.endswith("\n"):
                pass
            yield None


class AccountedParquetReader(AccountedReader, ParquetReader):
    """Parquet; a file that is not Parquet, or is damaged, is quarantined as `unreadable_file` after
    the rows read before the damage."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        import pyarrow

        self._row = -1
        try:
            yield from super().read_file(filepath)
        except (OSError, pyarrow.ArrowException) as error:
            if self.reports_file_damage():
                self.quarantine(f"{filepath}/after-row-{self._row}", f"unreadable_file: {type(error).__name__}")

    def get_document_from_dict(self, data: dict, source_file: str, id_in_file: int | str) -> Document | None:
        # datatrove counts only the rows it yields; the row's own index keeps ids and shares stable.
        self._row += 1
        if not self.mine(self._row):
            return None
        try:
            return super().get_document_from_dict(data, source_file, self._row)
        except Exception as error:  # MemoryError included: one record, not the run
            self.unreadable_record(f"{source_file}/{self._row}", error)
            return None


class WarcReader(AccountedReader):
    """WARC or WARC.gz: one document per HTML response, `doc.text` the decoded HTML.

    Writes metadata `url`, `date`, `charset`, `file_path`. Stats: `records/<kind>` for every record
    (html, request, metadata, non_html_response, revisit, ...) and `records/digest_quirk` for pages
    kept although their payload digest is really the block digest (ClueWeb09). Quarantines a page that
    no charset decodes as `undecodable`, one whose digest fails as `digest_mismatch`, one the file ends
    inside as `truncated_record`, one over `max_record_bytes` as `PageTooLarge` (read no further).
    Damage to the file (bytes that are no record, a foreign gzip member, a broken gzip stream) is
    skipped to the next record, and each skipped region is quarantined once as `damaged_region`.
    """

    def read_file(self, filepath: str) -> Iterator[Document]:
        with self.data_folder.open(filepath, "rb") as f:
            records = _ResynchronisingRecords(f, self._skipped(filepath))
            yield from self._pages(records, filepath)
            if records.length_warnings and self.reports_file_damage():
                self.stat_update("records/length_warning", value=records.length_warnings)
                logger.warning(
                    f"{filepath}: {records.length_warnings} record(s) not followed by the blank line their "
                    "Content-Length promises (stat read/records/length_warning); the records were read"
                )

    def _pages(self, records: _ResynchronisingRecords, filepath: str) -> Iterator[Document]:
        for index, record in records:
            if not self.mine(index):
                continue
            kind = _record_kind(record)
            self.stat_update(f"records/{kind}")
            if kind != "html":
                continue
            record_id = record.rec_headers.get_header("WARC-Record-ID") or f"{filepath}/{index}"
            try:
                with self.track_time():
                    document = self._page(record, record_id, filepath, index)
            except Exception as error:  # MemoryError included: one record, not the run
                self.unreadable_record(record_id, error)
                continue
            if document is not None:
                yield document

    def _skipped(self, filepath: str):
        def record_region(start: int, end: int | None, error: BaseException) -> None:
            if self.reports_file_damage():
                extent = f"bytes {start:,}-{end:,}" if end is not None else f"bytes {start:,} to the end"
                self.quarantine(f"{filepath}@{start}", f"damaged_region: {extent} skipped ({type(error).__name__})")

        return record_region

    def _page(self, record, record_id: str, filepath: str, index: int) -> Document | None:
        body = record.content_stream().read(self.max_record_bytes + 1)
        if len(body) > self.max_record_bytes:
            self.too_large(record_id)
            return None
        missing = getattr(record.raw_stream, "limit", 0)
        if missing:  # the file ends inside this record: its Content-Length was not there
            self.quarantine(record_id, f"truncated_record: {missing:,} bytes missing")
            return None
        problems = list(record.digest_checker.problems)
        record.digest_checker.problems.clear()
        if problems and _only_payload_digest_is_the_block_digest(record, problems):
            self.stat_update("records/digest_quirk")  # the block digest verified the bytes
        elif problems:
            self.quarantine(record_id, f"digest_mismatch: {problems[0][:80]}")
            return None
        decoded = decode_html(body, record.http_headers.get_header("Content-Type"))
        if decoded is None:
            self.quarantine(record_id, "undecodable: no charset decodes the page")
            return None
        text, charset = decoded
        metadata = {
            "url": record.rec_headers.get_header("WARC-Target-URI"),
            "date": record.rec_headers.get_header("WARC-Date"),
            "charset": charset,
        }
        return self.get_document_from_dict({"text": text, "id": record_id, "metadata": metadata}, filepath, index)


class _ResynchronisingRecords:
    """warcio's records of a WARC file, numbered, going on past damage.

    warcio (and fastwarc, tried on the same damaged files) ends the file at the first position that is
    no record; every record after it would be lost unseen. Here, after such an error, or a WARC record
    whose Content-Length is missing or no number (warcio would read it as empty, or to the end of the
    file, and swallow the next record), the file is searched from the end of the last good record for
    the next offset where a record parses (a gzip member header for WARC.gz, `WARC/1.` otherwise),
    reading resumes there, and `skipped(start, end, error)` is told the region in between (end None: no
    record follows). Digests are checked per record rather than raised, so one bad record is no damage.

    warcio writes the line after a record whose length was wrong to stderr, raw bytes of the page and
    all; that is diverted here (page bytes may be personal data and never reach a log) and counted in
    `length_warnings`.
    """

    _SCAN_BLOCK = 1 << 20
    _STREAM_ERRORS = (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError)

    def __init__(self, f, skipped):
        self.f, self.skipped = f, skipped
        self.gzipped = f.read(2) == b"\x1f\x8b"
        self.length_warnings = 0

    def __iter__(self):
        offset, index = 0, -1
        while offset is not None:
            self.f.seek(offset)
            records = ArchiveIterator(self.f, check_digests=True)
            stepper = iter(records)
            good_end = offset
            try:
                while (record := self._quietly(next, stepper, None)) is not None:
                    if (
                        record.format == "warc"
                        and not (record.rec_headers.get_header("Content-Length") or "").isdigit()
                    ):
                        raise _MalformedRecord("no valid Content-Length")
                    index += 1
                    yield index, record
                    good_end = self._quietly(records.get_record_offset) + self._quietly(records.get_record_length)
                return
            except self._STREAM_ERRORS as error:
                offset = self._next_record_start(good_end + 1)
                self.skipped(good_end, offset, error)

    def _quietly(self, function, *args):
        diverted = io.StringIO()
        with contextlib.redirect_stderr(diverted):
            result = function(*args)
        self.length_warnings += diverted.getvalue().count("perhaps Content-Length is invalid")
        return result

    def _next_record_start(self, start: int) -> int | None:
        marker = b"\x1f\x8b\x08" if self.gzipped else b"WARC/1."
        position, carry = start, b""
        while True:
            self.f.seek(position)
            block = self.f.read(self._SCAN_BLOCK)
            if not block:
                return None
            window = carry + block
            base = position - len(carry)
            found = window.find(marker)
            while found != -1:
                if self._record_starts_at(base + found):
                    return base + found
                found = window.find(marker, found + 1)
            carry = window[-(len(marker) - 1) :]
            position += len(block)

    def _record_starts_at(self, offset: int) -> bool:
        self.f.seek(offset)
        try:
            record = self._quietly(next, iter(ArchiveIterator(self.f)))
            return record.rec_headers.get_header("WARC-Type") is not None
        except (StopIteration, *self._STREAM_ERRORS):
            return False


class _MalformedRecord(ValueError):
    """A record warcio parses but whose extent it cannot know."""


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
    """Files of HTML: one document per file, id the file's path, `doc.text` the decoded HTML. A file
    over `max_record_bytes` is quarantined as `PageTooLarge`, one that cannot be read as `unreadable_file`."""

    def read_file(self, filepath: str) -> Iterator[Document]:
        try:
            with self.data_folder.open(filepath, "rb") as f:
                body = f.read(self.max_record_bytes + 1)
        except OSError as error:
            self.quarantine(filepath, f"unreadable_file: {type(error).__name__}")
            return
        if len(body) > self.max_record_bytes:
            self.too_large(filepath)
            return
        decoded = decode_html(body)
        if decoded is None:
            self.quarantine(filepath, "undecodable: no charset decodes the page")
            return
        text, charset = decoded
        yield self.get_document_from_dict({"text": text, "id": filepath, "metadata": {"charset": charset}}, filepath, 0)
