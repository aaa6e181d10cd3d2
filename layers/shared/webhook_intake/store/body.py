"""An event's ``body`` attribute: its normalized parts and its raw bytes, compressed together.

Format (the first byte is the format): ``1`` + raw DEFLATE of ``<parts JSON> NUL <raw bytes>``
with a preset dictionary of the vendor's field names (``VendorSpec.store_dictionaries[0]``,
frozen once released: a new dictionary is a new format byte). JSON text never holds a raw
NUL, so the first NUL ends the parts. Small JSON documents compress poorly on their own;
with the field names already known, a typical event's body is about a third of its text.
"""

from __future__ import annotations

import functools
import json
import zlib
from typing import Any

from webhook_intake.registry import vendor

_WBITS = -15  # raw DEFLATE: no zlib header or checksum (the item's own digest covers the raw bytes)

PARTS_DICTIONARY = (
    b'{"actor":{"name":"","external_id":"","role":"actor","url":"https://"},'
    b'"recipients":[{"name":"","external_id":"","role":"recipient"}],'
    b'"content":{"type":"comment","title":"","text":"","url":"https://","image_urls":["https://"],'
    b'"parent_id":"","author_id":"","created_at":"20"},"container":{"title":"","url":"https://"},'
    b'"site":{"name":""},"details":{}}'
)
"""The normalized parts' own field names, shared by every vendor's dictionary (frozen with format 1)."""


class BodyFormatError(ValueError):
    """A body in a format this code cannot read."""


@functools.cache
def _dictionary(vendor_key: str, version: int) -> bytes:
    dictionaries = vendor(vendor_key).store_dictionaries
    if not 1 <= version <= len(dictionaries):
        raise BodyFormatError(f"{vendor_key} has no body format {version}")
    return PARTS_DICTIONARY + dictionaries[version - 1]


def encode_body(vendor_key: str, parts: dict[str, Any], raw: bytes) -> bytes:
    """The compressed body of an event (the newest format)."""
    version = len(vendor(vendor_key).store_dictionaries)
    text = json.dumps(parts, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\0" + raw
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS, 9, zdict=_dictionary(vendor_key, version))
    return bytes([version]) + compressor.compress(text) + compressor.flush()


def decode_body(vendor_key: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """The parts and the exact raw bytes of a compressed body."""
    if not body:
        raise BodyFormatError("an empty body")
    decompressor = zlib.decompressobj(_WBITS, zdict=_dictionary(vendor_key, body[0]))
    text = decompressor.decompress(body[1:]) + decompressor.flush()
    parts, _, raw = text.partition(b"\0")
    document = json.loads(parts)
    return (document if isinstance(document, dict) else {}), raw
