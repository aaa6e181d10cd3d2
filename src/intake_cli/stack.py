"""The local stack: template.yaml on a moto server, its HTTP API on a local gateway, its queues polled.

One process holds it all: moto's server for the AWS APIs (real HTTP, so the handlers'
boto3 clients work unchanged through ``AWS_ENDPOINT_URL``), the gateway
(:mod:`intake_cli.gateway`) that turns each HTTP request into an API Gateway HTTP API
(payload 2.0) event for the route's handler, and the functions (:mod:`intake_cli.functions`)
with one poller per SQS event source, behaving like the event source mapping.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.events import ACCOUNT_ID
from intake_cli.functions import (
    LogRouting,
    ProcessEnvironment,
    load_handlers,
    poll_until,
    reset_client_cache,
    shared_environment,
)
from intake_cli.gateway import make_gateway
from intake_cli.local import (
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    DEFAULT_STATE_DIR,
    FAKE_CREDENTIALS,
    LOG_FILE_NAME,
    STATE_FILE_NAME,
    account_variables,
)
from intake_cli.provision import provision
from intake_cli.runtime import LocalRuntime
from intake_cli.samples import DEV_SECRETS, load_secrets
from intake_cli.target import IntakeError
from intake_cli.template import SamTemplate, TemplateError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from werkzeug.serving import BaseWSGIServer

    from intake_cli.poller import QueuePoller
    from intake_cli.provision import Stack

LOG = logging.getLogger("intake.stack")
BATCH_GRACE_SECONDS = 10
"""How long a stopping stack waits for each poller to finish its batch: a longer one is cut off."""


class StackError(IntakeError):
    """The local stack cannot start (a port in use, a template it cannot resolve...)."""


@dataclass
class StackOptions:
    """How to run the local stack."""

    port: int = 3000
    """Gateway port on 127.0.0.1 (0 picks a free one)."""
    aws_port: int = 0
    """moto server port on 127.0.0.1 (0 picks a free one)."""
    secrets_file: Path = DEV_SECRETS
    retry_visibility: int = 1
    """Seconds before a failed record is received again (the deployed stack waits the queue's 180 s)."""
    parameters: dict[str, str] = field(default_factory=dict)
    """Template parameter overrides, as ``sam deploy --parameter-overrides`` takes them."""
    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    log_file: Path = DEFAULT_STATE_DIR / LOG_FILE_NAME
    state_file: Path | None = DEFAULT_STATE_DIR / STATE_FILE_NAME
    """Where to describe the running stack for the CLI; None writes nothing."""
    capture_stdout: bool = True
    """Send what handlers print (Powertools metrics are EMF lines on stdout) to the log file."""
    metrics_interval: float = 5.0
    """Seconds between the queue metrics the stack publishes, as SQS does every minute."""


@dataclass(frozen=True)
class Left:
    """Messages on the local stack's queues when it stopped: gone with it."""

    queued: int
    """On the vendor queues: deliveries answered 2xx whose events were not stored yet."""
    dead_letters: int

    def sentence(self) -> str:
        """What ``intake serve`` says as it stops ('' when the queues were empty)."""
        from intake_cli.render import counted

        parts = []
        if self.queued:
            parts.append(f"{counted(self.queued, 'accepted delivery', 'accepted deliveries')} not stored yet")
        if self.dead_letters:
            parts.append(counted(self.dead_letters, "dead letter", "dead letters"))
        if not parts:
            return ""
        return f"its queues held {' and '.join(parts)}, gone with it (the local stack keeps nothing between runs)"


class LocalStack:
    """template.yaml running locally; use as a context manager or call start() and stop()."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.stack: Stack | None = None
        self.runtime: LocalRuntime | None = None
        self.api_url = ""
        self.aws_endpoint_url = ""
        self.started_at = ""
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._environment = ProcessEnvironment()
        self._logs = LogRouting(self.options.log_file, capture_stdout=self.options.capture_stdout)
        self._moto: Any = None
        self.left: Left | None = None
        """What the queues held when the stack stopped (the local stack keeps nothing between runs)."""
        self._gateway: BaseWSGIServer | None = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto, provision the template, load the handlers, serve routes and poll queues."""
        options = self.options
        try:
            template = SamTemplate(parameters=dict(options.parameters))
        except TemplateError as exc:
            raise StackError(f"template.yaml: {exc}") from None
        secrets = load_secrets(options.secrets_file)
        self._logs.start()
        try:
            self._start_moto()
            self._environment.set(
                {
                    **FAKE_CREDENTIALS,
                    "AWS_ENDPOINT_URL": self.aws_endpoint_url,
                    "AWS_DEFAULT_REGION": options.region,
                    "AWS_REGION": options.region,
                    # No X-Ray daemon here: Powertools' tracer becomes a no-op, as with `sam local`.
                    "POWERTOOLS_TRACE_DISABLED": "true",
                    **_no_proxy(),
                },
                remove=("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", *account_variables(os.environ)),
            )
            reset_client_cache()
            session = boto3.session.Session(region_name=options.region)
            self.stack = provision(template, session, options.stack_name, secrets, endpoint_url=self.aws_endpoint_url)
            self.runtime = LocalRuntime(
                self.stack, session, endpoint_url=self.aws_endpoint_url, retry_visibility=options.retry_visibility
            )
            self._environment.set(shared_environment(self.runtime))
            load_handlers(self.runtime, self._logs)
            self._start_gateway()
            self._start_pollers()
            self._start_metrics(session)
            self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
            if options.state_file is not None:
                _write_json(options.state_file, self.state())
        except TemplateError as exc:
            # A template edited since it last ran (a Ref to a resource it no longer makes): said, not a traceback.
            self.stop()
            raise StackError(f"{template.path.name}: {exc}") from None
        except BaseException:
            self.stop()
            raise
        LOG.info("local stack %s up: api %s, aws %s", options.stack_name, self.api_url, self.aws_endpoint_url)

    def withdraw(self) -> None:
        """Remove stack.json, so that no command takes this stack for one still running.

        First of what stopping does: letting the pollers finish their batch takes up to 10 s, and a second
        Ctrl-C meanwhile ends the process where it stands."""
        state_file = self.options.state_file
        if state_file is not None and _owned_by_this_process(state_file):
            state_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop serving, let the pollers finish their batch, stop moto, restore the process."""
        self.withdraw()
        self._stopping.set()
        if self._gateway is not None:
            self._gateway.shutdown()
            self._gateway.server_close()
            self._gateway = None
        for thread in self._threads:
            thread.join(timeout=BATCH_GRACE_SECONDS)
        self._threads.clear()
        if self._moto is not None:
            self.left = self._left_on_queues()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._environment.restore()
        reset_client_cache()
        self._logs.stop()

    def _left_on_queues(self) -> Left | None:
        """What the queues still held once the pollers stopped (gone with moto); None when they cannot be read."""
        from intake_cli.queues import depth

        if self.stack is None or self.runtime is None:
            return None
        redriven = {
            logical_id
            for logical_id, props in self.stack.template.of_type("AWS::SQS::Queue").items()
            if "RedrivePolicy" in props
        }
        counts = {True: 0, False: 0}
        for logical_id, url in self.stack.queues.items():
            try:
                counts[logical_id in redriven] += sum(depth(self.runtime.sqs, url))
            except IntakeError:
                return None
        return Left(queued=counts[True], dead_letters=counts[False])

    def state(self) -> dict[str, Any]:
        """What ``stack.json`` says: where the stack answers and what its resources are called."""
        stack, runtime = self._require_started()
        return {
            "stack_name": stack.name,
            "region": stack.region,
            "api_url": self.api_url,
            "aws_endpoint_url": self.aws_endpoint_url,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "secrets_file": str(self.options.secrets_file.resolve()),
            "log_file": str(self.options.log_file.resolve()),
            "retry_visibility": self.options.retry_visibility,
            "parameters": stack.template.parameters,
            "routes": [route.route_key for route in runtime.routes],
            "resources": {**stack.queues, **stack.tables, **stack.buckets, **stack.secrets},
            "outputs": self.outputs(),
        }

    def outputs(self) -> dict[str, str]:
        """The template's Outputs resolved against this stack; the API's URLs are the local gateway's."""
        stack, _ = self._require_started()
        outputs: dict[str, str] = {}
        for name, output in dict(stack.template.document.get("Outputs", {})).items():
            # Outputs naming what the local stack does not create (alarm topic, dashboard) are left out.
            with contextlib.suppress(TemplateError):
                outputs[name] = str(stack.resolve(output["Value"]))
        # The API's execute-api address (ApiUrl, and URLs under it: the OpenWeb token URL) is the gateway here
        deployed = outputs.get("ApiUrl", "")
        for name, value in outputs.items():
            if deployed and value.startswith(deployed):
                outputs[name] = self.api_url + value[len(deployed) :]
        outputs["ApiUrl"] = self.api_url
        return outputs

    @property
    def pollers(self) -> list[QueuePoller]:
        """The event source mappings being polled."""
        return self.runtime.pollers if self.runtime else []

    def _require_started(self) -> tuple[Stack, LocalRuntime]:
        if self.stack is None or self.runtime is None:
            raise StackError("the local stack is not started")
        return self.stack, self.runtime

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        from intake_cli import moto_fixes

        moto_fixes.apply()

        port = self.options.aws_port
        if port:
            _check_port_free(port, "--aws-port")
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._moto.start()
        host, bound = self._moto.get_host_and_port()
        self.aws_endpoint_url = f"http://{host}:{bound}"

    def _start_gateway(self) -> None:
        _, runtime = self._require_started()
        try:
            self._gateway = make_gateway(runtime, self.options.port)
        except OSError as exc:
            # socket.create_server's strerror repeats the address; the errno's own text is enough here.
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise StackError(
                f"cannot listen on 127.0.0.1:{self.options.port} ({reason}): "
                "pick another --port, or --port 0 for a free one"
            ) from exc
        self.api_url = f"http://127.0.0.1:{self._gateway.port}"
        self._spawn("gateway", self._gateway.serve_forever)

    def _start_pollers(self) -> None:
        for poller in self.pollers:
            self._spawn(f"poller-{poller.source.queue_id}", poll_until, self._stopping, poller)

    def _start_metrics(self, session: boto3.session.Session) -> None:
        stack, _ = self._require_started()
        cloudwatch = session.client("cloudwatch", endpoint_url=self.aws_endpoint_url)
        names = {url.rsplit("/", 1)[1] for url in stack.queues.values()}

        def publish() -> None:
            while not self._stopping.is_set():
                try:
                    _publish_queue_ages(cloudwatch, stack.region, names)
                except (BotoCoreError, ClientError):
                    LOG.exception("publishing queue metrics failed")
                self._stopping.wait(self.options.metrics_interval)

        self._spawn("queue-metrics", publish)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


def _publish_queue_ages(cloudwatch: Any, region: str, queue_names: set[str]) -> None:
    """ApproximateAgeOfOldestMessage for each queue, as SQS publishes it to CloudWatch in AWS.

    The age comes from moto's in-memory queue (visible and in-flight messages): reading
    it, unlike ReceiveMessage, counts as no receive.
    """
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT_ID][region]
    now_ms = time.time() * 1000
    data = []
    for name in sorted(queue_names):
        queue = backend.queues.get(name)
        if queue is None:
            continue
        # moto keeps every undeleted message of a queue in Queue._messages (moto is pinned < 6).
        sent: list[int] = [message.sent_timestamp or 0 for message in list(queue._messages)]
        oldest = min((stamp for stamp in sent if stamp), default=None)
        age = max(0.0, (now_ms - oldest) / 1000) if oldest else 0.0
        data.append(
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": name}],
                "Value": round(age),
                "Unit": "Seconds",
            }
        )
    for start in range(0, len(data), 20):
        cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=data[start : start + 20])


def _no_proxy() -> dict[str, str]:
    """NO_PROXY with the loopback added: a proxy must never see the local stack's traffic.

    Under both names, each with the entries of both: Python reads ``no_proxy`` first when it is set."""
    current = [entry for name in ("no_proxy", "NO_PROXY") for entry in os.environ.get(name, "").split(",") if entry]
    value = ",".join(dict.fromkeys([*current, "127.0.0.1", "localhost"]))
    return {"NO_PROXY": value, "no_proxy": value}


def _check_port_free(port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise StackError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}): pick {option}") from exc


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _owned_by_this_process(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid())
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def stop_requests(*signums: int) -> Iterator[threading.Event]:
    """Within the block, each of ``signums`` only records that a stop was asked (and leaves a terminal that is gone,
    as the entry point's handlers do), for the caller to heed where it stands; the handlers before are back after."""
    import signal

    from intake_cli.stopping import leave_gone_terminals

    requested = threading.Event()

    def ask_to_stop(signum: int, frame: object) -> None:
        leave_gone_terminals()
        requested.set()

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in signums}
    try:
        yield requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_for_signal(until: threading.Event | None = None, asked: threading.Event | None = None) -> None:
    """Block until SIGINT, SIGTERM or SIGHUP (one the parent did not ignore), until ``until`` is set, or until
    ``asked`` is (a stop recorded before the wait by :func:`stop_requests`). The handlers only record the signal:
    the caller stops the stack, and says so."""
    import signal

    from intake_cli.stopping import heeded

    with stop_requests(signal.SIGINT, *heeded()) as requested:
        while not (asked is not None and asked.is_set()) and not requested.wait(0.5):
            if until is not None and until.is_set():
                break
