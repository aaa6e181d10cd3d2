"""Seeded: each vendor's own samples, signed as the vendor signs them, with hostile values put in.

The properties of test_hostile_input.py throw garbage at the door, and test_mixed_batches.py odd
elements at Viafoura's batches. Here every vendor's normalizer gets events that are almost
right: a sample with one to three of its values (or its shape) replaced by what JSON allows and
no vendor should send (numbers beyond a double or 64 bits, ``-0``, lone surrogates, NUL,
U+FFFE, long strings, e-mail addresses and comment text in any field, arrays for objects and
the reverse, duplicate keys, a batch mixing good and bad events). From the outside:

- the answer is never a 5xx; a refusal is a short JSON error that echoes nothing;
- every event of an accepted delivery that still names its id is stored or quarantined,
  nothing is left on a queue or in a dead-letter queue;
- a refused delivery stores nothing;
- no log line of either function holds the e-mail address or the comment text.

A fixed seed per case: a failure names the case that reproduces it.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.samples import build_request, load_secrets, sample_files
from tests.helpers import depth, dlq_url, handler_logs, quarantined, queue_url, stored
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.runtime import LocalRuntime

EMAIL = "reader.person@example.org"
COMMENT = "a private comment, never to be logged"
RAW_TOKENS = {
    "1" + "0" * 40: "a whole number beyond 64 bits",
    "-0": "negative zero",
    "-0.0": "negative zero, written as a fraction",
    "1e308": "the largest double's order",
    "5e-324": "the smallest double",
    "1e-400": "a number below a double's range (reads as 0)",
    "9" * 4000: "4,000 digits (under Python's limit)",
    "9" * 5000: "5,000 digits (over Python's limit: refused)",
    "1e400": "a number beyond a double's range (refused)",
    str(2**63): "one past the largest signed 64-bit integer",
    '"\\ud800x"': "a lone high surrogate",
    '"\\udfff"': "a lone low surrogate",
    '"a\\u0000b"': "NUL inside a string",
    '"\\ufffe\\uffff"': "non-characters SQS refuses",
    '"\\u0001\\u001f\\u007f"': "control characters",
}
"""JSON text no encoder writes from a Python value, put in as written."""
VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    "",
    " ",
    "\x00",
    "\u2028",
    "\u202e",
    "x" * 5000,
    EMAIL,
    f"write to {EMAIL}",
    COMMENT,
    [],
    {},
    [[]],
    {"": {}},
    ["a", 1, None],
    {"id": {}},
    "2026-13-45T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "+275760-09-13T00:00:00Z",
    "2026-11-29T12:00:00+99:00",
    "NaN",
    10**20,
    253_402_300_800_000,
    -62_135_596_800_001,
]
CASES_PER_VENDOR = 8


def _raw(token: str, placeholders: dict[str, str]) -> str:
    """A placeholder the body's text has ``token`` in place of."""
    placeholder = f"@@raw-{len(placeholders)}@@"
    placeholders[placeholder] = token
    return placeholder


def _hostile(rng: random.Random, placeholders: dict[str, str], level: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.35:
        return _raw(rng.choice(sorted(RAW_TOKENS)), placeholders)
    if roll < 0.45 and level < 2:
        if rng.random() < 0.5:
            return [_hostile(rng, placeholders, level + 1) for _ in range(rng.randrange(3))]
        return {rng.choice(["id", "", "\x00", "text"]): _hostile(rng, placeholders, level + 1)}
    return rng.choice(VALUES)


def _places(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _places(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _places(value, (*prefix, index))
    return found


def _put(document: Any, place: tuple[Any, ...], value: Any) -> None:
    for step in place[:-1]:
        document = document[step]
    document[place[-1]] = value


def _events(vendor_key: str, document: Any) -> list[Any]:
    batch_field = VENDORS[vendor_key].batch_field
    if batch_field is None:
        return [document]
    events = document.get(batch_field) if isinstance(document, dict) else None
    return events if isinstance(events, list) else []


def hostile_delivery(vendor_key: str, sample: Path, seed: int) -> tuple[bytes, list[str]]:
    """A sample with fresh ids and hostile values; the body, and the ids its events still carry.

    The first value put in is a JSON text of :data:`RAW_TOKENS`, each case the next one: every
    one of them is in some case.
    """
    rng = random.Random(seed)
    spec = VENDORS[vendor_key]
    document = json.loads(sample.read_bytes())
    marker = f"hostile-{vendor_key}-{seed}"
    for index, event in enumerate(_events(vendor_key, document)):
        if isinstance(event, dict) and spec.id_field in event:
            event[spec.id_field] = f"{marker}-{index}"
    placeholders: dict[str, str] = {}
    tokens = sorted(RAW_TOKENS)
    first = _raw(tokens[(sorted(VENDORS).index(vendor_key) * CASES_PER_VENDOR + seed) % len(tokens)], placeholders)
    for value in [first] + [_hostile(rng, placeholders) for _ in range(rng.randrange(3))]:
        places = [place for place in _places(document)[1:] if place[-1] != spec.id_field or rng.random() < 0.2]
        if places:
            _put(document, rng.choice(places), value)
    events = _events(vendor_key, document)
    shape = rng.random()
    if spec.batch_field and events and shape < 0.4:
        # A batch mixing good events, bad ones and a copy of one of them.
        events += [_hostile(rng, placeholders) for _ in range(rng.randrange(1, 4))]
        events += [dict(event) for event in events[:1] if isinstance(event, dict)]
        rng.shuffle(events)
    elif shape > 0.9:
        document = [document]  # an array where the vendor sends an object
    if isinstance(document, dict) and rng.random() < 0.3:
        document[rng.choice(["comment", "email", "text"])] = rng.choice([EMAIL, COMMENT])
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5)
    for placeholder, token in placeholders.items():
        text = text.replace(json.dumps(placeholder), token)
    if text.startswith("{") and rng.random() < 0.2:
        text = '{"dup": 1, "dup": [2], ' + text[1:]
    ids = [
        str(event[spec.id_field])
        for event in _events(vendor_key, document)
        if isinstance(event, dict) and str(event.get(spec.id_field, "")).startswith(marker)
    ]
    return text.encode("utf-8", "surrogatepass"), ids


CASES = [
    pytest.param(vendor_key, seed, id=f"{vendor_key}-{seed}")
    for vendor_key in sorted(VENDORS)
    for seed in range(CASES_PER_VENDOR)
]


def _kept(runtime: LocalRuntime, vendor_key: str, event_id: str) -> bool:
    """Stored (its id, or an id made of it: FastComments', Firstup's) or quarantined (in its text)."""
    if any(event_id in str(event["event_id"]) for event in stored(runtime, vendor_key)):
        return True
    return any(event_id in str(item["text"]) for item in quarantined(runtime, vendor_key))


@pytest.mark.parametrize(("vendor_key", "seed"), CASES)
def test_a_signed_sample_with_hostile_values_is_answered_and_kept_or_refused_whole(
    shared_runtime: LocalRuntime, vendor_key: str, seed: int
) -> None:
    runtime = shared_runtime
    secrets = load_secrets()
    samples = sample_files(vendor_key)
    sample = samples[seed % len(samples)]
    body, ids = hostile_delivery(vendor_key, sample, seed)
    request = build_request(vendor_key, body, secrets[vendor_key], sample.stem)
    with handler_logs() as logs:
        response = runtime.request(request.method, request.path, request.headers, request.body)
        runtime.drain()
    assert response.status < 500, (response.status, response.body)
    if response.status >= 400:
        answer = response.json()
        assert set(answer) == {"error", "message"}, answer
        assert len(response.body) < 400
        assert EMAIL.encode() not in response.body and COMMENT.encode() not in response.body
        assert not [event_id for event_id in ids if _kept(runtime, vendor_key, event_id)]
    else:
        assert [event_id for event_id in ids if not _kept(runtime, vendor_key, event_id)] == []
    assert depth(runtime, queue_url(runtime, vendor_key)) + depth(runtime, dlq_url(runtime, vendor_key)) == 0
    leaked = [line for line in logs.getvalue().splitlines() if EMAIL in line or COMMENT in line]
    assert leaked == []
