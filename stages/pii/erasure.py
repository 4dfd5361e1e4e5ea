"""Erasure requests (GDPR Art. 17, CCPA deletion): drop every document that holds a listed identifier.

A request file is JSON Lines, one request per line: `{"request": "<id>", "identifiers": [...]}`; or
plain text, one identifier per line, each its own request. An identifier is an e-mail address, a phone
number, a URL, a domain or a name, told apart by its form. A document is dropped under the line of the
request in the file (`erasure/line-<N>`): neither the identifier, nor the request id, nor a hash of
either is ever written out (an unkeyed hash would let anyone confirm a guessed e-mail or phone number).

Matching is by lookup, not by scanning for each identifier, so a list of millions costs what a list of
ten does: the document's e-mail addresses, digit runs, hosts and word n-grams are looked up in sets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{7,}$")
DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-/]{0,3}\d)+")
HOST = re.compile(r"(?:(?:https?|ftp)://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})\b", re.IGNORECASE)
DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
WORD = re.compile(r"\w+")
URL_WITH_PATH = re.compile(r"(?:https?://)?[^\s\"'<>]+/[^\s\"'<>]*")
MIN_PHONE_DIGITS = 7  # shorter digit strings would match years and prices


class ErasureFileError(ValueError):
    """An erasure file that cannot be read; the message names the line, never the identifier."""


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


@dataclass
class ErasureList:
    """Identifiers by kind, each mapped to the request that listed it, named by its line (`line-<N>`)."""

    emails: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)  # national significant digits (last 9 at most)
    domains: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    names: dict[tuple[str, ...], str] = field(default_factory=dict)
    name_lengths: set[int] = field(default_factory=set)

    @property
    def requests(self) -> int:
        kinds = (self.emails, self.phones, self.domains, self.urls, self.names)
        return len({request for kind in kinds for request in kind.values()})

    @classmethod
    def load(cls, path: str | Path) -> ErasureList:
        path = Path(path)
        if not path.is_file():
            raise ErasureFileError(f"erasure file {path} does not exist")
        erasure = cls()
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if path.suffix in (".jsonl", ".json"):
                    try:
                        row = json.loads(line)
                        if "request" not in row:  # kept for the requester's records; only its line is written
                            raise KeyError("request")
                        identifiers = list(row["identifiers"])
                    except (ValueError, KeyError, TypeError) as error:
                        raise ErasureFileError(
                            f'{path}, line {number}: expected {{"request": ..., "identifiers": [...]}} '
                            f"({type(error).__name__})"
                        ) from None
                else:
                    identifiers = [line]
                for identifier in identifiers:
                    erasure.add(str(identifier), f"line-{number}")
        return erasure

    def add(self, identifier: str, request: str) -> None:
        value = identifier.strip()
        if "@" in value and EMAIL.fullmatch(value):
            self.emails[value.lower()] = request
        elif PHONE_LIKE.match(value) and len(_digits(value)) >= MIN_PHONE_DIGITS:
            self.phones[_national_digits(value)] = request
        elif "://" in value or ("/" in value and DOMAIN.match(value.split("/", 1)[0])):
            self.urls[_url_key(value)] = request
        elif DOMAIN.match(value):
            self.domains[value.lower().removeprefix("www.")] = request
        else:
            words = tuple(w.lower() for w in WORD.findall(value))
            if words:
                self.names[words] = request
                self.name_lengths.add(len(words))

    def request_in(self, text: str, url: str | None = None) -> str | None:
        """The request (`line-<N>`) whose identifier the document holds, or None."""
        if self.emails:
            for match in EMAIL.finditer(text):
                if (found := self.emails.get(match.group().lower())) is not None:
                    return found
        if self.phones:
            for match in DIGIT_RUN.finditer(text):
                digits = _digits(match.group())
                if len(digits) >= MIN_PHONE_DIGITS and (found := self.phones.get(digits[-9:])) is not None:
                    return found
        if self.urls or self.domains:
            hosts = [m.group(1).lower() for m in HOST.finditer(text)]
            if url:
                hosts.append((urlsplit(url).hostname or "").lower())
                if (found := self.urls.get(_url_key(url))) is not None:
                    return found
            for host in hosts:
                parts = host.removeprefix("www.").split(".")
                for i in range(len(parts) - 1):  # the host and each parent domain
                    if (found := self.domains.get(".".join(parts[i:]))) is not None:
                        return found
            if self.urls:
                for match in URL_WITH_PATH.finditer(text):
                    if (found := self.urls.get(_url_key(match.group()))) is not None:
                        return found
        if self.names:
            words = [w.lower() for w in WORD.findall(text)]
            for length in self.name_lengths:
                for i in range(len(words) - length + 1):
                    if (found := self.names.get(tuple(words[i : i + length]))) is not None:
                        return found
        return None


def _national_digits(phone: str) -> str:
    """The last 9 digits: the same number with or without country code or trunk prefix shares them."""
    return _digits(phone)[-9:]


def _url_key(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"
