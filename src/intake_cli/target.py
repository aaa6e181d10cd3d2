"""Which stack the CLI talks to: the local one (``stack.json``) or a deployed one (CloudFormation outputs).

Both are described by the template's Outputs (ApiUrl, EventsTableName, ``<Stem>QueueUrl``,
``<Stem>DeadLetterQueueUrl``, ``<Stem>DeadLetterQueueArn``, ``<Stem>SecretArn``), so every
command reads and writes the same way against either.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from intake_cli.local import FAKE_CREDENTIALS, STATE_FILE_NAME
from intake_cli.suggest import did_you_mean
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.type_defs import StackTypeDef

VENDOR_OUTPUTS = ("QueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "SecretArn")
"""The outputs each vendor's row makes (``<Stem>QueueUrl``...)."""
NO_LOCAL_STACK = "no local stack running: start it with `intake serve`"


class IntakeError(RuntimeError):
    """A failure the CLI reports as one clear line (and exit status 1)."""

    status = 1


def aws_problem(exc: BaseException) -> str:
    """What an AWS failure says, as every command prints it: ``Code: Message`` for an error AWS answered (not
    botocore's sentence around them), else the failure's own text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)


class OptionsError(IntakeError):
    """Options each read well that make no sense together or here (``--since`` after ``--until``, a window
    wider than the command reads): a usage error, one clear line and exit status 2."""

    status = 2


@dataclass(frozen=True)
class VendorResources:
    """One vendor's queue, dead-letter queue and secret."""

    vendor: str
    queue_url: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    secret_id: str

    @property
    def queue_name(self) -> str:
        """The queue's name (its CloudWatch dimension)."""
        return self.queue_url.rstrip("/").rsplit("/", 1)[1]


@dataclass(frozen=True)
class Target:
    """A running stack: where its API answers and what its resources are called."""

    name: str
    region: str
    api_url: str
    events_table: str
    vendors: dict[str, VendorResources]
    endpoint_url: str | None = None
    """The local moto server; None for a deployed stack."""
    secrets_file: Path | None = None
    """The file the local stack's secrets were seeded from."""
    payload_bucket: str | None = None
    """The payload bucket (claim-checked deliveries, large bodies, long quarantined texts)."""
    retention_days: int = 0
    """The stack's ``RetentionDays`` (0: events kept for ever; a stack deployed before it was an output)."""
    log_file: Path | None = None
    """Where the local stack's functions log (what CloudWatch Logs holds for a deployed stack)."""
    openweb_token_url: str | None = None
    """The OpenWeb token URL (``OpenWebTokenUrl``; on the local stack, the gateway's address for it)."""
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def local(self) -> bool:
        """True for the local stack."""
        return self.endpoint_url is not None

    def client(self, service: str) -> Any:
        """A boto3 client for this stack (moto with fake credentials when local)."""
        if service not in self._clients:
            if self.local:
                # No profile from the shell (AWS_PROFILE may name one this machine does not have): moto needs none.
                core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
                session = boto3.session.Session(
                    aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    region_name=self.region,
                    botocore_session=core,
                )
                # Nor the shell's proxy (HTTPS_PROXY): it cannot reach this machine's loopback, as sending knows.
                # A few tries: a local stack stopped while a command reads it refuses every connection, and
                # botocore's default of ten for DynamoDB sat 26 s in silence before saying so.
                config = Config(proxies={}, retries={"mode": "standard", "total_max_attempts": 3})
            else:
                session = boto3.session.Session(region_name=self.region)
                config = None
            self._clients[service] = session.client(  # type: ignore[call-overload]
                service, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[service]

    def vendor(self, key: str) -> VendorResources:
        """One vendor's resources; a clear error for an unknown key, or a vendor the stack was made without."""
        try:
            return self.vendors[key]
        except KeyError:
            if key in VENDORS:
                made, remake = (
                    ("started", "restart it (intake serve)")
                    if self.local
                    else ("deployed", "deploy the template (sam deploy)")
                )
                raise IntakeError(
                    f"stack {self.name} has no {key} resources ({made} before the vendor was added):"
                    f" {remake} to make them"
                ) from None
            raise IntakeError(f"unknown vendor {key!r}; known: {', '.join(self.vendors)}") from None

    @classmethod
    def from_outputs(
        cls,
        name: str,
        region: str,
        outputs: dict[str, str],
        endpoint_url: str | None = None,
        secrets_file: Path | None = None,
        log_file: Path | None = None,
    ) -> Target:
        """A target from the template's Outputs (deployed: CloudFormation's; local: stack.json's)."""

        def output(key: str) -> str:
            try:
                return outputs[key]
            except KeyError:
                raise IntakeError(f"stack {name} has no output {key}: is it a webhook-intake stack?") from None

        # A stack deployed before a vendor was added has none of its outputs: read without it. (One
        # output of a vendor missing is a stack that is not this template's: named below.)
        deployed = {
            key: spec
            for key, spec in VENDORS.items()
            if any(f"{spec.stem}{suffix}" in outputs for suffix in VENDOR_OUTPUTS)
        }
        vendors = {
            key: VendorResources(
                vendor=key,
                queue_url=output(f"{spec.stem}QueueUrl"),
                dead_letter_queue_url=output(f"{spec.stem}DeadLetterQueueUrl"),
                dead_letter_queue_arn=output(f"{spec.stem}DeadLetterQueueArn"),
                secret_id=output(f"{spec.stem}SecretArn"),
            )
            for key, spec in (deployed or VENDORS).items()
        }
        return cls(
            name=name,
            region=region,
            api_url=output("ApiUrl").rstrip("/"),
            events_table=output("EventsTableName"),
            vendors=vendors,
            endpoint_url=endpoint_url,
            secrets_file=secrets_file,
            payload_bucket=outputs.get("PayloadBucketName"),
            retention_days=int(outputs.get("RetentionDays") or 0),
            log_file=log_file,
            openweb_token_url=outputs.get("OpenWebTokenUrl"),
        )

    def account_and_partition(self) -> tuple[str, str]:
        """The stack's AWS account and partition, read from a queue ARN among its outputs."""
        arn = next(iter(self.vendors.values())).dead_letter_queue_arn.split(":")
        return arn[4], arn[1]


def state_file(state_dir: Path) -> Path:
    """Where ``intake serve`` describes the running local stack."""
    return state_dir / STATE_FILE_NAME


def read_local_state(state_dir: Path) -> dict[str, Any] | None:
    """stack.json, if a local stack answers at the addresses it names; else None."""
    try:
        state = json.loads(state_file(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    urls = [state.get("aws_endpoint_url"), state.get("api_url")]
    if not all(isinstance(url, str) and _answers(url) for url in urls):
        return None
    return state


def local_target(state_dir: Path) -> Target:
    """The local stack described in ``<state_dir>/stack.json``."""
    state = read_local_state(state_dir)
    if state is None:
        raise IntakeError(NO_LOCAL_STACK)
    outputs = dict(state.get("outputs") or {})
    secrets_file = state.get("secrets_file")
    log_file = state.get("log_file")
    return Target.from_outputs(
        name=str(state.get("stack_name", "local")),
        region=str(state.get("region", "us-east-1")),
        outputs=outputs,
        endpoint_url=str(state["aws_endpoint_url"]),
        secrets_file=Path(secrets_file) if secrets_file else None,
        log_file=Path(log_file) if log_file else None,
    )


def read_stack(stack_name: str, region: str | None = None) -> tuple[boto3.session.Session, StackTypeDef]:
    """A deployed stack's description (``describe_stacks``) and the session that read it.

    Raises :class:`IntakeError` with one line saying what is missing (credentials, a region) or
    what AWS answered.
    """
    try:
        session = boto3.session.Session(region_name=region)
        if session.region_name:
            require_known_region(session, f"--region {region}" if region else None)
        cloudformation = session.client("cloudformation")
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except NoCredentialsError:
        raise IntakeError("no AWS credentials: configure a profile or the AWS_* variables") from None
    except NoRegionError:
        raise IntakeError(
            "no AWS region: pass --region (REGION=… with make), set AWS_DEFAULT_REGION, or give your profile one"
            " (aws configure)"
        ) from None
    except ClientError as exc:
        raise IntakeError(f"cannot read stack {stack_name} in {session.region_name}: {aws_problem(exc)}") from None
    except BotoCoreError as exc:
        raise IntakeError(f"cannot read stack {stack_name}: {aws_problem(exc)}") from None
    return session, stacks[0]


def require_known_region(session: boto3.session.Session, source: str | None) -> None:
    """IntakeError, one line, when ``session``'s region is one no partition botocore knows has (a
    misspelling: no endpoint would answer, and botocore would say only that it could not connect);
    ``source`` says where it was given, else it is the AWS configuration's."""
    region = str(session.region_name)
    known = {
        name
        for partition in session.get_available_partitions()
        for name in session.get_available_regions("cloudformation", partition_name=partition)
    }
    if region not in known:
        meant = did_you_mean(region, sorted(known))
        said = source or f"the region {region} (AWS_DEFAULT_REGION or your profile's)"
        raise IntakeError(f"{said} is not an AWS region botocore knows{meant}; if it is new, upgrade botocore")


def deployed_target(stack_name: str, region: str | None = None) -> Target:
    """A deployed stack, from its CloudFormation outputs."""
    session, stack = read_stack(stack_name, region)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    status = str(stack.get("StackStatus", ""))
    if not outputs and (why := _why_no_outputs(status)):
        raise IntakeError(f"stack {stack_name} is {status}, with no outputs yet: {why}")
    return Target.from_outputs(stack_name, session.region_name or "", outputs)


def _why_no_outputs(status: str) -> str | None:
    """Why a stack in ``status`` has no outputs, when its status says (its first deploy runs, failed,
    or was never executed). A stack that was created (its updates and imports too) says nothing: one
    with no outputs is another kind of stack."""
    if status == "REVIEW_IN_PROGRESS":
        return "its first change set was not executed: deploy again and accept it"
    if status.startswith("DELETE_"):
        return "it is being deleted, or its deletion failed"
    # ROLLBACK_*: the rollback of a creation (an update's or an import's is UPDATE_ROLLBACK_*, IMPORT_ROLLBACK_*)
    if status == "CREATE_FAILED" or status.startswith("ROLLBACK_"):
        return "its creation failed: its events in CloudFormation say why"
    if status == "CREATE_IN_PROGRESS":
        return "it is still being created: try again once it is CREATE_COMPLETE"
    return None


def resolve_target(state_dir: Path, stack_name: str | None, region: str | None = None) -> Target:
    """``--stack NAME`` means the deployed stack; otherwise the local one."""
    return deployed_target(stack_name, region) if stack_name else local_target(state_dir)


def _answers(url: str, timeout: float = 5.0) -> bool:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False
