"""Vendor secrets: cached, refreshed at most every few seconds, and read within the vendors' deadlines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from webhook_intake import secrets as secrets_module
from webhook_intake.registry import VENDORS
from webhook_intake.secrets import SecretStore, SecretUnavailableError

if TYPE_CHECKING:
    import boto3


def store_with(aws: boto3.session.Session, value: dict[str, object]) -> tuple[SecretStore, object]:
    client = aws.client("secretsmanager")
    client.create_secret(Name="vendor-secret", SecretString=json.dumps(value))
    return SecretStore("vendor-secret", refresh_interval=10.0), client


def test_a_host_up_for_less_than_the_refresh_interval_may_still_refresh_once(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The monotonic clock counts from boot: on a new host it is below the 10 s interval.
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: 3.0)
    store, client = store_with(aws, {"tokens": ["old"]})
    assert store.get() == {"tokens": ["old"]}
    client.put_secret_value(SecretId="vendor-secret", SecretString=json.dumps({"tokens": ["old", "new"]}))  # type: ignore[attr-defined]
    assert store.refresh() == {"tokens": ["old", "new"]}


def test_refreshes_are_limited_to_one_per_interval(aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    store, _ = store_with(aws, {"tokens": ["a"]})
    assert store.refresh() is not None
    clock[0] += 9.9
    assert store.refresh() is None
    clock[0] += 0.2
    assert store.refresh() is not None


def test_a_secret_read_ends_inside_the_shortest_vendor_deadline(aws: boto3.session.Session) -> None:
    store, _ = store_with(aws, {"tokens": ["a"]})
    config = store.client.meta.config
    attempts = config.retries["total_max_attempts"]
    # Standard-mode backoff waits at most 1 s before a second attempt (base 2 s x random fraction).
    worst = attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1) * 1.0
    shortest = min(spec.contract().deadline_seconds for spec in VENDORS.values())
    assert worst <= shortest, (worst, shortest)
    assert config.retries["mode"] == "standard"


def test_a_secret_with_no_value_yet_reads_empty_so_deliveries_are_refused_not_retried(
    aws: boto3.session.Session,
) -> None:
    # Given the secret as the template creates it (no value), and a name no secret has
    client = aws.client("secretsmanager")
    client.create_secret(Name="never-set")
    calls = []
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", lambda **_: calls.append(1))
    for name in ("never-set", "no-such-secret"):
        store = SecretStore(name, boto3_client=client)  # type: ignore[arg-type]
        # Then it reads as an empty object (its problems say what to set), looked up again after max_age
        assert store.get() == {}
        assert store.get() == {}
    assert len(calls) == 2
    # And once it is set, a forced read sees it
    client.put_secret_value(SecretId="never-set", SecretString=json.dumps({"tokens": ["t"]}))
    assert SecretStore("never-set", boto3_client=client).get(force=True) == {"tokens": ["t"]}  # type: ignore[arg-type]


def test_a_value_that_is_not_an_object_never_takes_the_last_good_ones_place(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(secrets_module.time, "monotonic", lambda: clock[0])
    store, client = store_with(aws, {"tokens": ["good"]})
    assert store.get() == {"tokens": ["good"]}
    # Given the operator writing a list where the object belongs, and a refused credential forcing a read
    client.put_secret_value(SecretId="vendor-secret", SecretString=json.dumps(["good"]))  # type: ignore[attr-defined]
    with pytest.raises(SecretUnavailableError):
        store.refresh()

    # Then the object read before still serves every delivery
    assert store.get() == {"tokens": ["good"]}
    # And once the value is mended, the next forced read takes it, cache or not
    client.put_secret_value(SecretId="vendor-secret", SecretString=json.dumps({"tokens": ["new"]}))  # type: ignore[attr-defined]
    clock[0] += 10.0
    assert store.refresh() == {"tokens": ["new"]}
    assert store.get() == {"tokens": ["new"]}


def test_a_first_value_that_is_not_an_object_is_read_again_at_the_next_delivery(aws: boto3.session.Session) -> None:
    # Given a string where the object belongs, read once
    store, client = store_with(aws, {"tokens": ["x"]})
    client.put_secret_value(SecretId="vendor-secret", SecretString=json.dumps("tok"))  # type: ignore[attr-defined]
    with pytest.raises(SecretUnavailableError):
        store.get()
    # When it is mended, the next read sees it (the bad value was not kept for max_age)
    client.put_secret_value(SecretId="vendor-secret", SecretString=json.dumps({"tokens": ["tok"]}))  # type: ignore[attr-defined]
    assert store.get() == {"tokens": ["tok"]}
