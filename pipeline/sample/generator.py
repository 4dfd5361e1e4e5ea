"""Writes the sample crawl: WARC files of synthetic pages plus ground_truth.jsonl describing them.

Everything derives from one seeded RNG, and WARC dates, record ids and gzip headers are fixed, so the
same seed gives the same bytes on every machine.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.sample.personal_data import ENTITY_TYPES, PHRASES, PersonalData
from pipeline.sample.prose import Prose
from pipeline.sample.templates import TEMPLATES, Article

SITES = ["dailyharbour.example", "valleygazette.example", "northernledger.example", "tinkerblog.example"]
BASE_DATE = datetime(2024, 3, 1, tzinfo=UTC)

# Shares of generated pages; the rest are original English articles.
SHARE_EXACT_DUPLICATE = 0.06
SHARE_NEAR_DUPLICATE = 0.10
SHARE_BROKEN = 0.03
SHARE_NON_ENGLISH = 0.10
SHARE_WITH_PERSONAL_DATA = 0.35
BROKEN_KINDS = ("wrong_charset", "missing_charset", "truncated_html", "empty_body")
NON_HTML_EVERY = 97  # one image response per this many pages, to exercise the reader's record filter


@dataclass
class SampleCorpus:
    """Where a generated sample lives."""

    folder: Path
    warc_paths: list[Path]
    ground_truth_path: Path
    pages: int


@dataclass
class _Page:
    record_id: str
    url: str
    kind: str
    template: str
    language: str
    article: Article
    charset: str = "utf-8"
    declared_charset: str | None = "utf-8"
    duplicate_of: str | None = None
    near_duplicate_of: str | None = None
    edit: str | None = None
    broken: str | None = None
    personal_data: list[dict] = field(default_factory=list)
    html_bytes: bytes = b""

    def ground_truth(self, file_name: str) -> dict:
        return {
            "id": self.record_id,
            "url": self.url,
            "file": file_name,
            "kind": self.kind,
            "template": self.template,
            "language": self.language,
            "charset": self.charset,
            "declared_charset": self.declared_charset,
            "duplicate_of": self.duplicate_of,
            "near_duplicate_of": self.near_duplicate_of,
            "edit": self.edit,
            "broken": self.broken,
            "title": self.article.title,
            "article_paragraphs": self.article.paragraphs,
            "comments": self.article.comments,
            "personal_data": self.personal_data,
        }


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.personal = PersonalData(self.rng)
        self.originals: list[_Page] = []

    def record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def url(self, site: str) -> str:
        return f"https://{site}/{self.rng.choice(['news', 'blog', 'local', 'story'])}/{self.rng.getrandbits(40):x}.html"

    def article(self, language: str, with_personal_data: bool) -> tuple[Article, list[dict]]:
        prose = Prose(self.rng, language)
        author = self.personal.person()
        date = (BASE_DATE + timedelta(days=self.rng.randint(0, 365))).strftime("%Y-%m-%d")
        paragraphs = [prose.paragraph() for _ in range(self.rng.randint(4, 9))]
        comments = [prose.sentence() for _ in range(self.rng.randint(0, 3))]
        planted = [{"type": "PERSON", "value": author, "where": "byline"}]
        if with_personal_data:
            for _ in range(self.rng.randint(1, 3)):
                entity_type = self.rng.choice(ENTITY_TYPES)
                value = self.personal.draw(entity_type)
                index = self.rng.randrange(len(paragraphs))
                paragraphs[index] += " " + PHRASES[entity_type].format(value=value)
                planted.append({"type": entity_type, "value": value, "where": "article"})
        article = Article(prose.title(), author, date, paragraphs, language, comments)
        return article, planted

    def render(self, page: _Page, site: str) -> None:
        prose = Prose(self.rng, page.language)
        charset_label = page.declared_charset or ""
        text = TEMPLATES[page.template](page.article, site, self.rng, prose, charset_label)
        if page.declared_charset is None:
            text = text.replace("; charset=", "").replace(' charset=""', "").replace("charset=", "")
        page.html_bytes = text.encode(page.charset, errors="xmlcharrefreplace")

    def original(self, language: str = "en") -> _Page:
        with_pd = self.rng.random() < SHARE_WITH_PERSONAL_DATA
        article, planted = self.article(language, with_pd)
        site = self.rng.choice(SITES)
        page = _Page(
            record_id=self.record_id(),
            url=self.url(site),
            kind="original",
            template=self.rng.choice(list(TEMPLATES)),
            language=language,
            article=article,
            personal_data=planted,
        )
        self.render(page, site)
        self.originals.append(page)
        return page

    def exact_duplicate(self) -> _Page:
        source = self.rng.choice(self.originals)
        page = _Page(
            record_id=self.record_id(),
            url=self.url(self.rng.choice(SITES)),
            kind="exact_duplicate",
            template=source.template,
            language=source.language,
            article=source.article,
            duplicate_of=source.record_id,
            personal_data=source.personal_data,
            html_bytes=source.html_bytes,
        )
        return page

    def near_duplicate(self) -> _Page:
        source = self.rng.choice(self.originals)
        site = self.rng.choice(SITES)
        if self.rng.random() < 0.5:
            template = self.rng.choice([t for t in TEMPLATES if t != source.template])
            article, edit = source.article, "template"
        else:
            template = source.template
            article, edit = self._edited(source.article)
        page = _Page(
            record_id=self.record_id(),
            url=self.url(site),
            kind="near_duplicate",
            template=template,
            language=source.language,
            article=article,
            near_duplicate_of=source.record_id,
            edit=edit,
            personal_data=source.personal_data,
        )
        self.render(page, site)
        return page

    def _edited(self, article: Article) -> tuple[Article, str]:
        """A copy with about 1% of words replaced, as syndicated copies with light edits are."""
        prose = Prose(self.rng, article.language)
        words = [p.split(" ") for p in article.paragraphs]
        total = sum(len(w) for w in words)
        edits = max(1, total // 100)
        for _ in range(edits):
            paragraph = self.rng.choice(words)
            paragraph[self.rng.randrange(len(paragraph))] = prose.link_text().split(" ")[-1].lower()
        edited = Article(
            article.title,
            article.author,
            article.date,
            [" ".join(w) for w in words],
            article.language,
            [prose.sentence() for _ in range(self.rng.randint(0, 2))],
        )
        return edited, f"words:{edits}"

    def broken(self) -> _Page:
        kind = self.rng.choice(BROKEN_KINDS)
        language = self.rng.choice(["de", "fr", "es"])  # accents make a wrong charset visible
        article, planted = self.article(language, with_personal_data=False)
        site = self.rng.choice(SITES)
        page = _Page(
            record_id=self.record_id(),
            url=self.url(site),
            kind="broken",
            template=self.rng.choice(list(TEMPLATES)),
            language=language,
            article=article,
            broken=kind,
            personal_data=planted,
        )
        if kind == "wrong_charset":
            page.charset, page.declared_charset = "cp1252", "utf-8"
        elif kind == "missing_charset":
            page.charset, page.declared_charset = "cp1252", None
        self.render(page, site)
        if kind == "truncated_html":
            page.html_bytes = page.html_bytes[: self.rng.randint(len(page.html_bytes) // 3, len(page.html_bytes) // 2)]
        elif kind == "empty_body":
            page.html_bytes = b""
            page.personal_data = []
        return page

    def page(self) -> _Page:
        draw = self.rng.random()
        if self.originals and draw < SHARE_EXACT_DUPLICATE:
            return self.exact_duplicate()
        draw -= SHARE_EXACT_DUPLICATE
        if self.originals and draw < SHARE_NEAR_DUPLICATE:
            return self.near_duplicate()
        draw -= SHARE_NEAR_DUPLICATE
        if draw < SHARE_BROKEN:
            return self.broken()
        draw -= SHARE_BROKEN
        if draw < SHARE_NON_ENGLISH:
            return self.original(self.rng.choice(["de", "fr", "es"]))
        return self.original("en")


def _http_headers(page: _Page) -> StatusAndHeaders:
    content_type = "text/html" if page.declared_charset is None else f"text/html; charset={page.declared_charset}"
    return StatusAndHeaders(
        "200 OK",
        [("Content-Type", content_type), ("Content-Length", str(len(page.html_bytes))), ("Server", "nginx")],
        protocol="HTTP/1.1",
    )


def _warc_headers(record_id: str, date: datetime, extra: dict | None = None) -> dict:
    headers = {"WARC-Record-ID": record_id, "WARC-Date": date.strftime("%Y-%m-%dT%H:%M:%SZ")}
    headers.update(extra or {})
    return headers


def generate_sample(out: str | Path, pages: int = 2000, seed: int = 0, files: int = 8) -> SampleCorpus:
    """Write `pages` HTML responses (plus a few non-HTML records) over `files` WARC files into `out`."""
    if pages < 1 or files < 1:
        raise ValueError("pages and files must both be at least 1")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    generator = _Generator(seed)
    generated = [generator.page() for _ in range(pages)]

    warc_paths = [folder / f"crawl-{index:05d}.warc.gz" for index in range(files)]
    ground_truth_path = folder / "ground_truth.jsonl"
    handles = [path.open("wb") for path in warc_paths]
    try:
        writers = [WARCWriter(handle, gzip=True) for handle in handles]
        with ground_truth_path.open("w", encoding="utf-8") as truth:
            for index, page in enumerate(generated):
                shard = index % files
                date = BASE_DATE + timedelta(seconds=index)
                record = writers[shard].create_warc_record(
                    page.url,
                    "response",
                    payload=BytesIO(page.html_bytes),
                    http_headers=_http_headers(page),
                    warc_headers_dict=_warc_headers(page.record_id, date),
                )
                writers[shard].write_record(record)
                truth.write(json.dumps(page.ground_truth(warc_paths[shard].name), ensure_ascii=False) + "\n")
                if index % NON_HTML_EVERY == NON_HTML_EVERY - 1:
                    _write_non_html_records(writers[shard], generator, date)
    finally:
        for handle in handles:
            handle.close()
    return SampleCorpus(folder, warc_paths, ground_truth_path, pages)


def _write_non_html_records(writer: WARCWriter, generator: _Generator, date: datetime) -> None:
    """An image response, its request and a metadata record: records a reader must skip and count."""
    url = f"https://{generator.rng.choice(SITES)}/img/{generator.rng.getrandbits(32):x}.png"
    image = b"\x89PNG\r\n\x1a\n" + generator.rng.randbytes(256)
    headers = StatusAndHeaders(
        "200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(image)))], protocol="HTTP/1.1"
    )
    request_headers = StatusAndHeaders(
        f"GET /{url.split('/', 3)[3]} HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True
    )
    for record in (
        writer.create_warc_record(
            url,
            "request",
            http_headers=request_headers,
            warc_headers_dict=_warc_headers(generator.record_id(), date),
        ),
        writer.create_warc_record(
            url,
            "response",
            payload=BytesIO(image),
            http_headers=headers,
            warc_headers_dict=_warc_headers(generator.record_id(), date),
        ),
        writer.create_warc_record(
            url,
            "metadata",
            payload=BytesIO(b"fetchTimeMs: 42\n"),
            warc_content_type="application/warc-fields",
            warc_headers_dict=_warc_headers(generator.record_id(), date),
        ),
    ):
        writer.write_record(record)
