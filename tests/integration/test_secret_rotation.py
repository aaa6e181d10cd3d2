"""Rotating a vendor secret the documented way refuses no delivery at any step."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from intake_cli.samples import sample_files
from tests.helpers import put_secret, send_body, stored
from webhook_intake.registry import vendor

if TYPE_CHECKING:
    from intake_cli.runtime import LocalRuntime


@pytest.mark.parametrize(
    ("vendor_key", "field"), [("viafoura-notifications", "tokens"), ("fastcomments", "api_secret")]
)
def test_add_new_then_remove_old_refuses_nothing(runtime: LocalRuntime, vendor_key: str, field: str) -> None:
    old, new = f"old-{vendor_key}-credential", f"new-{vendor_key}-credential"
    secret_id = f"{vendor(vendor_key).stem}Secret"
    sample = sample_files(vendor_key)[0]
    body = sample.read_text()
    statuses: list[int] = []

    def deliver(credential: str, n: int) -> None:
        # Each delivery is a distinct event, so every one must end up stored.
        document = json.loads(body)
        if vendor_key == "viafoura-notifications":
            document["notifications"][0]["notification_uuid"] = f"rotation-{n}"
        else:
            document["id"] = f"rotation-{n}"
        response = send_body(runtime, vendor_key, json.dumps(document).encode(), {field: [credential]}, sample.stem)
        statuses.append(response.status)

    # Given the vendor and the stack share the old credential
    put_secret(runtime, secret_id, {field: [old]})
    deliver(old, 1)
    # When the operator adds the new one first, keeping the old
    put_secret(runtime, secret_id, {field: [new, old]})
    deliver(old, 2)
    # And the vendor switches to the new one (the cached secret has not seen it yet)
    deliver(new, 3)
    deliver(new, 4)
    # And the operator removes the old one
    put_secret(runtime, secret_id, {field: [new]})
    deliver(new, 5)

    # Then no delivery was refused, and every one was stored
    assert all(200 <= status < 300 for status in statuses), statuses
    runtime.drain()
    assert len(stored(runtime)) == 5
