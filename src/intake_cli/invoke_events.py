"""Write events/apigw/: each sample wrapped in the HTTP API v2 event its route gets, for `sam local invoke -e`.

Run ``python -m intake_cli.invoke_events`` after changing a sample. The credentials are the
committed development ones (config/secrets.local.json); FastComments uses its legacy
``token`` header because a signature expires after five minutes.
"""

from __future__ import annotations

import json
from typing import Any

from intake_cli.events import http_api_event, match_path
from intake_cli.samples import SAMPLES_DIR, load_secrets, sample_files, sample_request
from intake_cli.template import SamTemplate
from webhook_intake.registry import VENDORS

INVOKE_DIR = SAMPLES_DIR / "apigw"
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
            if "x-socialchorus-delivery" in headers:
                headers["x-socialchorus-delivery"] = f"sample-{sample.stem}"
            route = next(
                r
                for key, r in routes.items()
                if key.startswith(request.method) and match_path(r.path, request.path) is not None
            )
            event = http_api_event(request.method, request.path, route.path, headers, request.body)
            event["requestContext"].update(_FIXED_CONTEXT)
            result[f"{vendor_key}/{sample.name}"] = event
    return result


def main() -> None:
    """Rewrite events/apigw/ from the samples."""
    events = invoke_events()
    for relative, event in events.items():
        target = INVOKE_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(events)} events under {INVOKE_DIR}")


if __name__ == "__main__":
    main()
