"""Decoding web pages whose bytes may not match the charset they declare."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
# WHATWG: browsers decode these labels as windows-1252, which also maps 0x80-0x9F to characters.
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}


def declared_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset named by the HTTP Content-Type, else by a <meta> tag near the top of the page."""
    if content_type:
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value.strip(" \"'"):
                return value.strip(" \"'").lower()
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "replace").lower() if match else None


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str] | None:
    """Text and the charset that decoded it: the declared one if it fits, else UTF-8, else detected.

    Returns None when nothing decodes the bytes (binary data served as text, say).
    """
    declared = _codec(declared_charset(content_type, body))
    for candidate in dict.fromkeys(filter(None, [declared, "utf-8"])):
        try:
            return body.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    matches = list(from_bytes(body[:65536]))
    if not matches:
        return None
    best = matches[0]
    # Short pages leave several single-byte charsets tied; windows-1252 is by far the web's most
    # common legacy charset, so it wins a tie.
    tied = {m.encoding for m in matches if m.chaos == best.chaos and m.coherence == best.coherence}
    encoding = "cp1252" if "cp1252" in tied else best.encoding
    try:
        return body.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return None
