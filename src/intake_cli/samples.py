"""The samples in events/ and correctly (or deliberately wrongly) authenticated requests for them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intake_cli.local import ROOT
from webhook_intake.registry import vendor

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
    """The vendor's samples, in name order."""
    return sorted((SAMPLES_DIR / vendor_key).glob("*.json"))


def wrong_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """The same layout with every credential replaced by one the stack does not accept."""
    return {
        key: [WRONG_CREDENTIAL] if isinstance(value, list) else WRONG_CREDENTIAL if isinstance(value, str) else value
        for key, value in secret.items()
    }


def build_request(
    vendor_key: str,
    body: bytes,
    secret: dict[str, Any],
    sample_name: str = "",
    *,
    bad_auth: bool = False,
    now: float | None = None,
) -> OutgoingRequest:
    """The vendor's request for ``body``: its route, its headers, its credential."""
    contract = vendor(vendor_key).contract()
    method, path = contract.client_route(sample_name)
    used = wrong_secret(secret) if bad_auth else secret
    headers = contract.client_headers(body, used, time.time() if now is None else now)
    return OutgoingRequest(vendor_key, method, path, headers, body)


def sample_request(vendor_key: str, sample: Path, secrets: dict[str, dict[str, Any]], **kwargs: Any) -> OutgoingRequest:
    """The request for one sample file."""
    return build_request(vendor_key, sample.read_bytes(), secrets.get(vendor_key, {}), sample.stem, **kwargs)
