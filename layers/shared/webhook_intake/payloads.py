"""Payloads in S3: delivery bodies SQS cannot carry (claim checks), and the large parts of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import client, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PayloadError(RuntimeError):
    """S3 did not give or take a payload (or it is not what was stored): the record must be retried."""


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
    def from_pointer(cls, body: str) -> ClaimCheck:
        """Read a pointer body back."""
        data = json.loads(body)["claim_check"]
        return cls(str(data["bucket"]), str(data["key"]), int(data["bytes"]), str(data["sha256"]))


class PayloadStore:
    """Reads claim-checked bodies; writes and reads the parts of events kept outside their items."""

    def __init__(self, bucket: str | None, s3_client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3_client

    @property
    def s3(self) -> S3Client:
        """The injected client, else the process-wide one."""
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def fetch(self, check: ClaimCheck) -> str:
        """The delivery body a claim check points to, verified against its hash."""
        raw = self.get_object(check.uri)
        if len(raw) != check.size or hashlib.sha256(raw).hexdigest() != check.sha256:
            raise PayloadError(f"payload {check.uri} does not match its claim check")
        return raw.decode("utf-8")

    def put_object(self, key: str, body: bytes, content_type: str) -> str:
        """Store ``body`` under ``key`` (made from its hash by the caller: the same key always holds the same bytes)."""
        if self.bucket is None:
            raise PayloadError("a part of an event belongs in S3 and no payload bucket is configured")
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise PayloadError(f"put_object failed: {error_code(exc)}") from exc
        return f"s3://{self.bucket}/{key}"

    def get_object(self, uri: str) -> bytes:
        """The bytes at an ``s3://bucket/key`` URI this store wrote."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise PayloadError(f"get_object failed: {error_code(exc)}") from exc
