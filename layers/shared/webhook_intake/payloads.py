"""Payloads in S3: delivery bodies SQS cannot carry (claim checks), and the large parts of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code
from webhook_intake.store.table import CONSUMER_CONFIG, once

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

    from webhook_intake.store.table import Attempts

READ_PART_BYTES = 64 * 1024
"""A body from S3 is read in parts of this size, the caller's time checked between two of them."""
DELIVERIES_PREFIX = "deliveries/"
"""Where the ingest functions put delivery bodies SQS cannot carry: ``deliveries/<vendor>/…``."""
RETENTION_TAG = "retention-days"
"""The S3 object tag a delivery body or an event's part carries when the stack has a retention: the
bucket's lifecycle rules expire only objects tagged with the stack's current ``RetentionDays``, so
a later change of the parameter never reaches the parts of events written under another (kept for
ever, for one)."""


def retention_tagging(retention_days: int) -> str:
    """S3's ``Tagging`` for an object kept ``retention_days`` (``retention-days=30``); none for ever (0)."""
    return f"{RETENTION_TAG}={retention_days}" if retention_days > 0 else ""


class PayloadError(RuntimeError):
    """S3 did not give or take a payload: the record must be retried."""


class ClaimCheckError(PayloadError):
    """A claim check that no retry makes readable: not a pointer, pointing outside the vendor's
    deliveries, or at bytes that are not the ones it names (or not UTF-8). The record's own fault."""


_UNREADABLE_POINTER = (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError)


@dataclass(frozen=True)
class ClaimCheck:
    """Where a body too large for SQS waits for the consumer (S3)."""

    bucket: str
    key: str
    size: int
    sha256: str

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    def pointer(self) -> str:
        """The message body that stands for the payload on the queue."""
        return json.dumps(
            {"claim_check": {"bucket": self.bucket, "key": self.key, "bytes": self.size, "sha256": self.sha256}},
            separators=(",", ":"),
        )

    @classmethod
    def from_pointer(cls, body: str, bucket: str | None = None, vendor: str | None = None) -> ClaimCheck:
        """Read a pointer body back; with ``bucket`` and ``vendor``, only one into that vendor's deliveries.

        Raises :class:`ClaimCheckError`.
        """
        try:
            data = json.loads(body)["claim_check"]
            check = cls(str(data["bucket"]), str(data["key"]), int(data["bytes"]), str(data["sha256"]))
        except _UNREADABLE_POINTER:
            raise ClaimCheckError("the message is not a claim check") from None
        if (bucket is not None and check.bucket != bucket) or (
            vendor is not None and not check.key.startswith(f"{DELIVERIES_PREFIX}{vendor}/")
        ):
            raise ClaimCheckError("the claim check points outside this vendor's deliveries")
        return check


class PayloadStore:
    """Reads claim-checked bodies; writes and reads the parts of events kept outside their items (each call
    made as ``attempts`` allows)."""

    def __init__(self, bucket: str | None, s3_client: S3Client | None = None, attempts: Attempts = once) -> None:
        self.bucket = bucket
        self._s3 = s3_client
        self._attempts = attempts

    @property
    def s3(self) -> S3Client:
        """The injected client, else the process-wide one."""
        if self._s3 is None:
            self._s3 = client("s3", CONSUMER_CONFIG)
        return self._s3

    def fetch(self, check: ClaimCheck) -> str:
        """The delivery body a claim check points to, verified against its hash."""
        raw = self.get_object(check.uri)
        if len(raw) != check.size or hashlib.sha256(raw).hexdigest() != check.sha256:
            # Keys are never written twice: other bytes there will not become the ones it names.
            # (never naming the key: a hand-made pointer's key may hold anything, and the message is logged;
            # the quarantine item keeps the pointer itself)
            raise ClaimCheckError("the payload does not match its claim check (size or SHA-256)")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ClaimCheckError("the payload its claim check names is not UTF-8") from None

    def put_object(self, key: str, body: bytes, content_type: str, tagging: str = "") -> str:
        """Store ``body`` under ``key`` (made from its hash by the caller: the same key always holds the same bytes).

        ``tagging``: the object's tags as S3 takes them (``name=value&…``), or none.
        """
        if self.bucket is None:
            raise PayloadError("a part of an event belongs in S3 and no payload bucket is configured")
        tags: dict[str, Any] = {"Tagging": tagging} if tagging else {}
        try:
            bucket = self.bucket
            self._attempts(
                lambda: self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **tags)
            )
        except (ClientError, BotoCoreError) as exc:
            raise PayloadError(f"put_object failed: {error_code(exc)}") from exc
        return f"s3://{self.bucket}/{key}"

    def get_object(self, uri: str) -> bytes:
        """The bytes at an ``s3://bucket/key`` URI this store wrote."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            # The body's reads within the attempt: a read that stalls mid-body is tried again whole.
            return self._attempts(lambda: self._read(self.s3.get_object(Bucket=bucket, Key=key)))
        except (ClientError, BotoCoreError) as exc:
            raise PayloadError(f"get_object failed: {error_code(exc)}") from exc

    def _read(self, answer: GetObjectOutputTypeDef) -> bytes:
        """A body read a part at a time while the caller's time allows: the read time-out bounds each part, not
        the whole, and an S3 that sends a large body slowly would otherwise outlast the function's timeout.

        The time is checked only while another part is to come: a body read whole is never thrown away for it.
        """
        body, size = answer["Body"], answer.get("ContentLength")
        parts: list[bytes] = []
        read = 0
        try:
            while part := body.read(READ_PART_BYTES):
                parts.append(part)
                read += len(part)
                if size is None or read < size:
                    self._attempts.check()
        except Exception:
            body.close()  # its connection, left part way through an answer, is not taken back for another request
            raise
        return b"".join(parts)
