"""Large payloads in S3: delivery bodies over the SQS limit, and raw events over DynamoDB's item limit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webhook_intake.clients import client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PayloadError(RuntimeError):
    """A claim-checked payload is missing or not what was stored: the record must be retried."""


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
    """Reads claim-checked bodies and writes raw events too large for an item."""

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
        raw = self.s3.get_object(Bucket=check.bucket, Key=check.key)["Body"].read()
        if len(raw) != check.size or hashlib.sha256(raw).hexdigest() != check.sha256:
            raise PayloadError(f"payload {check.uri} does not match its claim check")
        return raw.decode("utf-8")

    def put_raw(self, key: str, raw: bytes) -> str:
        """Store a raw event under ``raw/``; the key is derived from the event, so retries overwrite."""
        if self.bucket is None:
            raise PayloadError("an event is too large for DynamoDB and no payload bucket is configured")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=raw, ContentType="application/json")
        return f"s3://{self.bucket}/{key}"
