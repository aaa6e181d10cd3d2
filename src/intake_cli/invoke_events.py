"""Write events/apigw/ and events/sqs/: each sample as the event a function gets, for `sam local invoke -e`.

- ``events/apigw/<vendor>/<sample>.json``: the HTTP API (payload 2.0) event the vendor's
  ingest function gets for the sample. The credentials are the committed development ones
  (config/secrets.local.json); FastComments uses its legacy ``token`` header because a
  signature expires after five minutes.
- ``events/sqs/<vendor>/<sample>.json``: the SQS event the vendor's consumer function gets
  for it: the sample as the message body, the delivery (the sample's fixed one) as message
  attributes, as the ingest function would have queued it.

Run ``python -m intake_cli.invoke_events`` after changing a sample.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from intake_cli.events import ACCOUNT_ID, http_api_event, match_path, sqs_event
from intake_cli.samples import (
    SAMPLES_DIR,
    load_secrets,
    sample_delivery,
    sample_files,
    sample_request,
    with_sample_delivery_id,
)
from intake_cli.template import SamTemplate
from webhook_intake.registry import VENDORS

INVOKE_DIR = SAMPLES_DIR / "apigw"
SQS_DIR = SAMPLES_DIR / "sqs"
SQS_SENT_TIMESTAMP = "1795953600000"
"""2026-11-29T12:00:00Z, the samples' receive time (``SAMPLE_RECEIVED_AT``)."""
_FIXED_CONTEXT = {"requestId": "sample-request-id=", "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1795428000000}


def invoke_events() -> dict[str, dict[str, Any]]:
    """Each sample's invoke event, keyed by its path under events/apigw/ (stable: no clock, no random ids)."""
    secrets = load_secrets()
    routes = {route.route_key: route for spec in SamTemplate().functions() for route in spec.routes}
    result: dict[str, dict[str, Any]] = {}
    for vendor_key in VENDORS:
        for sample in sample_files(vendor_key):
            request = sample_request(vendor_key, sample, secrets, now=0)
            headers = dict(request.headers)
            if vendor_key == "fastcomments":
                headers = {"token": str(secrets["fastcomments"]["api_secret"]), "content-type": "application/json"}
            headers = with_sample_delivery_id(vendor_key, headers, sample)
            route = next(
                r
                for key, r in routes.items()
                if key.startswith(request.method) and match_path(r.path, request.path) is not None
            )
            event = http_api_event(request.method, request.path, route.path, headers, request.body)
            event["requestContext"].update(_FIXED_CONTEXT)
            result[f"{vendor_key}/{sample.name}"] = event
    return result


def sqs_events(stack_name: str = "webhook-intake-dev", region: str = "us-east-1") -> dict[str, dict[str, Any]]:
    """Each sample's consumer event, keyed by its path under events/sqs/ (stable: ids made from the sample's name)."""
    result: dict[str, dict[str, Any]] = {}
    for vendor_key, spec in VENDORS.items():
        queue_arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{stack_name}-{spec.stem}Queue-EXAMPLE"
        for sample in sample_files(vendor_key):
            body = sample.read_text(encoding="utf-8")
            name = f"{vendor_key}/{sample.name}"
            message = {
                "MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"webhook-intake:{name}")),
                "ReceiptHandle": f"sample-receipt-handle-{name}",
                "Body": body,
                "MD5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),  # noqa: S324 - SQS's own checksum
                "Attributes": {"SentTimestamp": SQS_SENT_TIMESTAMP, "ApproximateReceiveCount": "1"},
                "MessageAttributes": sample_delivery(vendor_key, sample).to_message_attributes(),
            }
            result[name] = sqs_event([message], queue_arn, region)
    return result


def main() -> None:
    """Rewrite events/apigw/ and events/sqs/ from the samples, removing the events of samples (or vendors) gone."""
    for directory, events in ((INVOKE_DIR, invoke_events()), (SQS_DIR, sqs_events())):
        for relative, event in events.items():
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written = {directory / relative for relative in events}
        stale = sorted(path for path in directory.glob("*/*.json") if path not in written)
        for path in stale:
            path.unlink()
        for folder in sorted(path for path in directory.iterdir() if path.is_dir() and not any(path.iterdir())):
            folder.rmdir()
        removed = f", removed {len(stale)} of samples no longer there" if stale else ""
        print(f"wrote {len(events)} events under {directory}{removed}")


if __name__ == "__main__":
    main()
