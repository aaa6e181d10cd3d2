"""The samples in events/ and correctly (or deliberately wrongly) authenticated requests for them."""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intake_cli.events import match_path
from intake_cli.local import ROOT
from webhook_intake.delivery import KEPT_HEADERS, Delivery
from webhook_intake.registry import VENDORS_PACKAGE, vendor

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
    """The secrets file: one object per vendor key, each in the layout of that vendor's Secrets Manager secret."""
    path = path or DEV_SECRETS
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"secrets file not found: {path}") from None
    except ValueError as exc:
        raise SystemExit(f"secrets file {path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SystemExit(f"secrets file {path} must hold a JSON object keyed by vendor")
    return document


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


def sample_delivery(vendor_key: str, sample: Path) -> Delivery:
    """The delivery a sample arrives as, fixed in time: what the consumer sees of the vendor's request."""
    request = build_request(vendor_key, sample.read_bytes(), {}, sample.stem, now=SAMPLE_SIGNED_AT)
    spec = vendor(vendor_key)
    event = match_path(spec.path, request.path) or {}
    headers = {name: value for name, value in request.headers.items() if name in KEPT_HEADERS}
    if "x-socialchorus-delivery" in headers:
        headers["x-socialchorus-delivery"] = f"sample-{sample.stem}"
    return Delivery(
        vendor=vendor_key,
        received_at=SAMPLE_RECEIVED_AT,
        correlation_id=headers.get("x-request-id") or headers.get("x-socialchorus-delivery") or "sample-request",
        method=request.method,
        path=request.path,
        path_parameters=event,
        headers=headers,
    )


def sample_request(vendor_key: str, sample: Path, secrets: dict[str, dict[str, Any]], **kwargs: Any) -> OutgoingRequest:
    """The request for one sample file."""
    return build_request(vendor_key, sample.read_bytes(), secrets.get(vendor_key, {}), sample.stem, **kwargs)
