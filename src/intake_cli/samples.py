"""The samples in events/ and correctly (or deliberately wrongly) authenticated requests for them."""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intake_cli.events import match_path
from intake_cli.local import ROOT
from intake_cli.target import IntakeError
from webhook_intake.delivery import Delivery, kept_header_names
from webhook_intake.registry import REQUEST_ID_HEADER, VENDORS_PACKAGE, vendor

if TYPE_CHECKING:
    from pathlib import Path

SAMPLES_DIR = ROOT / "events"
DEV_SECRETS = ROOT / "config" / "secrets.local.json"
# A value no secret holds: 64 hex characters, so it also has the shape Viafoura's tokens have.
WRONG_CREDENTIAL = "f" * 64


@dataclass(frozen=True)
class OutgoingRequest:
    """A request as the vendor would send it."""

    vendor: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def load_secrets(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The secrets file: one object per vendor key, each in the layout of that vendor's Secrets Manager secret.

    A byte order mark before it (a Windows editor saves one) is read past, as JSON ignores it."""
    path = path or DEV_SECRETS
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise IntakeError(f"secrets file not found: {path}") from None
    except OSError as exc:
        raise IntakeError(f"cannot read secrets file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise IntakeError(f"secrets file {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise IntakeError(f"secrets file {path} must hold a JSON object keyed by vendor")
    return document


def secret_for(secrets: dict[str, Any], vendor_key: str) -> dict[str, Any]:
    """The vendor's object in a secrets file; an :class:`IntakeError` naming the vendor when it has none."""
    secret = secrets.get(vendor_key)
    if not isinstance(secret, dict):
        raise IntakeError(f"the secrets file has no object for {vendor_key}")
    return secret


def sample_files(vendor_key: str) -> list[Path]:
    """The vendor's sample bodies, in name order (golden files, ``*.expected.json``, are not samples)."""
    return sorted(path for path in (SAMPLES_DIR / vendor_key).glob("*.json") if not path.name.endswith(EXPECTED_SUFFIX))


EXPECTED_SUFFIX = ".expected.json"


def expected_path(sample: Path) -> Path:
    """Where a sample's golden file lives: ``<name>.expected.json`` beside it."""
    return sample.with_name(sample.name.removesuffix(".json") + EXPECTED_SUFFIX)


def wrong_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """The same layout with every credential replaced by one the stack does not accept."""
    return {
        key: [WRONG_CREDENTIAL] if isinstance(value, list) else WRONG_CREDENTIAL if isinstance(value, str) else value
        for key, value in secret.items()
    }


def vendor_client(vendor_key: str) -> Any:
    """How the vendor calls us: its package's ``client`` module (kept out of the Lambda layer)."""
    return importlib.import_module(f"{VENDORS_PACKAGE}.{vendor(vendor_key).package}.client")


def build_request(
    vendor_key: str,
    body: bytes,
    secret: dict[str, Any],
    sample_name: str = "",
    *,
    bad_auth: bool = False,
    now: float | None = None,
    event: str | None = None,
) -> OutgoingRequest:
    """The vendor's request for ``body``: its route, its headers, its credential."""
    spec = vendor(vendor_key)
    client = vendor_client(vendor_key)
    route = getattr(client, "route", None)
    method, path = route(sample_name, event) if route is not None else (spec.methods[0], spec.path)
    used = wrong_secret(secret) if bad_auth else secret
    headers = client.headers(body, used, time.time() if now is None else now)
    return OutgoingRequest(vendor_key, method, path, headers, body)


SAMPLE_RECEIVED_AT = "2026-11-29T12:00:00.000Z"
"""The receive time :func:`sample_delivery` gives every sample (golden files are computed with it)."""
SAMPLE_SIGNED_AT = 1_795_953_600
"""2026-11-29T12:00:00Z: when a sample is signed, for vendors that sign (and date events by it)."""


def with_sample_delivery_id(vendor_key: str, headers: dict[str, str], sample: Path) -> dict[str, str]:
    """``headers`` with the sample's own fixed id in the vendor's own delivery header, where it names one
    (its client sends a new id each request, as Firstup's): a sample becomes the same from one run to the next."""
    name = vendor(vendor_key).delivery_header
    return {**headers, name: f"sample-{sample.stem}"} if name != REQUEST_ID_HEADER and name in headers else headers


def sample_delivery(vendor_key: str, sample: Path) -> Delivery:
    """The delivery a sample arrives as, fixed in time: what the consumer sees of the vendor's request."""
    request = build_request(vendor_key, sample.read_bytes(), {}, sample.stem, now=SAMPLE_SIGNED_AT)
    spec = vendor(vendor_key)
    event = match_path(spec.path, request.path) or {}
    kept = {name: value for name, value in request.headers.items() if name in kept_header_names(spec)}
    headers = with_sample_delivery_id(vendor_key, kept, sample)
    return Delivery(
        vendor=vendor_key,
        received_at=SAMPLE_RECEIVED_AT,
        correlation_id=spec.delivery_id(headers) or "sample-request",
        method=request.method,
        path=request.path,
        path_parameters=event,
        headers=headers,
    )


def sample_request(vendor_key: str, sample: Path, secrets: dict[str, dict[str, Any]], **kwargs: Any) -> OutgoingRequest:
    """The request for one sample file."""
    return build_request(vendor_key, sample.read_bytes(), secret_for(secrets, vendor_key), sample.stem, **kwargs)


PINGS_DIR = SAMPLES_DIR / "pings"
"""Bodies a vendor sends to check a subscription: answered 2xx, never queued (``intake demo`` sends them)."""
NEGATIVE_DIR = SAMPLES_DIR / "negative"
"""Bad deliveries to practise the quarantine and DLQ runbook with (``intake demo`` never sends them)."""


def ping_files(vendor_key: str) -> list[Path]:
    """The vendor's ping bodies."""
    return sorted((PINGS_DIR / vendor_key).glob("*.json"))


def negative_files(vendor_key: str) -> list[Path]:
    """The vendor's bad deliveries."""
    return sorted((NEGATIVE_DIR / vendor_key).glob("*.json"))


def named_files(vendor_key: str) -> dict[str, dict[str, Path]]:
    """Every body ``intake send VENDOR NAME`` knows, by kind, then by name (the file name without ``.json``)."""
    return {
        kind: {path.name.removesuffix(".json"): path for path in files}
        for kind, files in (
            ("samples", sample_files(vendor_key)),
            ("pings", ping_files(vendor_key)),
            ("negative", negative_files(vendor_key)),
        )
        if files
    }


@dataclass(frozen=True)
class Chosen:
    """A body picked for ``intake send``, and what to call it."""

    vendor: str
    body: bytes
    label: str
    """What the terminal calls it (a path, ``stdin``, ``--data``, or a sample and what was taken of it)."""
    name: str = ""
    """The sample's name, from which a FastComments sample's event is read (``comment-deleted.reply``)."""


def golden_events(vendor_key: str, sample: Path) -> list[dict[str, Any]]:
    """The normalized events a sample's golden file says it becomes."""
    try:
        return list(json.loads(expected_path(sample).read_text(encoding="utf-8")).get("events", []))
    except (OSError, ValueError):
        return []


def sample_for_type(event_type: str, vendor_key: str | None, vendor_keys: list[str]) -> Chosen | None:
    """A sample whose events include ``event_type`` (from the golden files), cut down to those events.

    Preferred: a sample of real (not test) events, holding the fewest events, the vendor's own
    sample before a variant (``liked-message`` before ``liked-message.documented``); then
    vendor and name order. A batch is sent with only the events of that type, in its own envelope.
    """
    candidates = []
    for key in [vendor_key] if vendor_key else vendor_keys:
        for sample in sample_files(key):
            events = golden_events(key, sample)
            wanted = [event for event in events if event.get("event_type") == event_type and not event.get("test")]
            if wanted:
                rank = (len(events), sample.name.count("."), key, sample.name)
                candidates.append((rank, sample, key, [str(e["event_id"]) for e in wanted]))
    if not candidates:
        return None
    _, sample, key, ids = min(candidates, key=lambda candidate: candidate[0])
    body = sample.read_bytes()
    spec = vendor(key)
    label = f"{key}/{sample.name}"
    if spec.batch_field is not None:
        document = json.loads(body)
        events = document.get(spec.batch_field, [])
        kept = [event for event in events if str(event.get(spec.id_field)) in ids]
        if len(kept) != len(events):
            document[spec.batch_field] = kept
            body = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            label += f" (its {len(kept)} {event_type} event{'s' if len(kept) != 1 else ''} of {len(events)})"
    return Chosen(key, body, label, sample.name.removesuffix(".json"))
