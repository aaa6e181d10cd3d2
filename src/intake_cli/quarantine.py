"""Quarantined events for the console: listed beside SQS dead letters, sent back through normalization."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.ingest.queue import QueueSender
from webhook_intake.ingest.settings import DEFAULT_INLINE_MAX_BYTES
from webhook_intake.registry import vendor
from webhook_intake.store.quarantine import QuarantineKey, QuarantineStore

if TYPE_CHECKING:
    from collections.abc import Callable

SEND_DEADLINE_SECONDS = 30.0


@dataclass
class Redriven:
    """One quarantined event sent back (or, on a dry run, that would be)."""

    key: QuarantineKey
    reason: str
    sent: bool


class QuarantineRedrive:
    """Sends quarantined events back to their vendor's queue, where the consumer tries them again.

    What now passes is stored and its quarantine item removed; what still fails stays, with its
    reason brought up to date and ``attempts`` counting the tries.
    """

    def __init__(self, store: QuarantineStore, sender_for: Callable[[str], QueueSender]) -> None:
        self.store = store
        self.sender_for = sender_for

    def run(
        self,
        vendor_key: str,
        key: QuarantineKey | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
        reason: str | None = None,
    ) -> list[Redriven]:
        """Send back one quarantined event (``key``) or all of a vendor's (those kept for ``reason``, when it is
        given); nothing is sent on a dry run.

        ``progress`` hears how many were sent of how many, first before any is sent, then after each.
        """
        items: list[dict[str, Any]]
        if key is not None:
            found = self.store.get(key)
            items = [found] if found is not None else []
        else:
            items = list(self.store.list(vendor_key, reason=reason))
        batch_field = vendor(vendor_key).batch_field
        done: list[Redriven] = []
        if progress is not None:
            progress(0, len(items))
        for item in items:
            item_key = QuarantineKey(str(item["vendor"]), str(item["sk"]))
            if not dry_run:
                body, delivery = self.store.resend(item, batch_field)
                self.sender_for(vendor_key).send(body, delivery, time.monotonic() + SEND_DEADLINE_SECONDS)
            done.append(Redriven(item_key, str(item.get("reason", "")), sent=not dry_run))
            if progress is not None:
                progress(len(done), len(items))
        return done


def sender(queue_url: str, bucket: str | None, sqs_client: Any, s3_client: Any, retention_days: int = 0) -> QueueSender:
    """A queue sender for resending (claim-checked through S3, tagged with the stack's retention, when SQS
    cannot carry the body, as the ingest functions send it)."""
    return QueueSender(
        queue_url,
        DEFAULT_INLINE_MAX_BYTES,
        payload_bucket=bucket,
        retention_days=retention_days,
        sqs_client=sqs_client,
        s3_client=s3_client,
    )
