"""Shared fixtures: AWS is moto (in-process), built from template.yaml itself."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import pytest
from hypothesis import settings
from moto import mock_aws

from intake_cli.local import STATE_DIR_VARIABLE, account_variables
from intake_cli.provision import provision
from intake_cli.runtime import LocalRuntime
from intake_cli.samples import load_secrets
from intake_cli.template import SamTemplate
from webhook_intake.clients import reset

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REGION = "us-east-1"

# Every boto3 session loads botocore's service models anew (about 0.1 s a client); the suite
# makes hundreds of sessions (a stack per test, the handlers' clients after each reset), so
# they share one loader and its cache. Models are read-only: nothing else is shared.
_SHARED_LOADER = botocore.loaders.create_loader()
_session_init = boto3.session.Session.__init__


def _session_with_shared_loader(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
    _session_init(self, *args, **kwargs)
    self._session.register_component("data_loader", _SHARED_LOADER)


boto3.session.Session.__init__ = _session_with_shared_loader  # type: ignore[method-assign]


# Property tests that go through the local stack draw PROPERTY_EXAMPLES cases each in `make test`;
# `make soak` runs them with the "soak" profile, 25 times as many (about a quarter of an hour).
PROPERTY_EXAMPLES = 40
settings.register_profile("suite", max_examples=PROPERTY_EXAMPLES)
settings.register_profile("soak", max_examples=PROPERTY_EXAMPLES * 25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "WebhookIntake",
    # As the template's Globals give every function (the stack's name): a metric's dimensions here are AWS's.
    "POWERTOOLS_SERVICE_NAME": "webhook-intake-test",
}


def _isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name in account_variables(os.environ):
        monkeypatch.delenv(name)
    reset()


@pytest.fixture(scope="session")
def _state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own state directory: a local stack served from this checkout is never theirs."""
    return tmp_path_factory.mktemp("intake-state")


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch, _state_dir: Path) -> None:
    """Fake credentials and no endpoint override: nothing here can reach real AWS (nor a stack
    `intake serve` runs beside the tests)."""
    _isolate(monkeypatch)
    monkeypatch.setenv(STATE_DIR_VARIABLE, str(_state_dir))


@pytest.fixture(autouse=True)
def _no_controlling_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No question is ever asked on the terminal the tests run at: a test that means one to be names its own."""
    monkeypatch.setattr(
        "intake_cli.cli.CONTROLLING_TERMINAL", str(tmp_path_factory.getbasetemp() / "no-terminal" / "tty")
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests run with sockets disabled."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("network access in a unit test")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def secrets() -> dict[str, dict[str, Any]]:
    """The committed development secrets (config/secrets.local.json)."""
    return load_secrets()


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    """An in-process moto backend."""
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def stack_name(request: pytest.FixtureRequest) -> str:
    """A unique stack name per test, so resources never collide."""
    import uuid

    return f"wi-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def runtime(aws: boto3.session.Session, secrets: dict[str, dict[str, Any]], stack_name: str) -> LocalRuntime:
    """template.yaml provisioned on moto, with every function wired as Lambda would run it.

    Failed records come back at once (``retry_visibility=0``) so redrive happens in-test.
    """
    stack = provision(SamTemplate(), aws, stack_name, secrets)
    return LocalRuntime(stack, aws, retry_visibility=0)


@pytest.fixture(scope="module")
def shared_runtime() -> Iterator[LocalRuntime]:
    """One provisioned stack for a whole module whose tests use ids of their own and drain what they send.

    Provisioning the template takes about a second; modules of many small cases share one.
    """
    import uuid

    with pytest.MonkeyPatch.context() as monkeypatch:
        _isolate(monkeypatch)
        with mock_aws():
            session = boto3.session.Session(region_name=REGION)
            stack = provision(SamTemplate(), session, f"wi-{uuid.uuid4().hex[:8]}", load_secrets())
            yield LocalRuntime(stack, session, retry_visibility=0)


def queue_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on a queue (received, then made visible again; each peek counts as a receive)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    for message in messages:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return messages
