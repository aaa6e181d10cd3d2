"""The local stack: template.yaml on a moto server, its HTTP API on a local gateway, its queues polled.

One process holds it all: moto's server for the AWS APIs (real HTTP, so the handlers'
boto3 clients work unchanged through ``AWS_ENDPOINT_URL``), a gateway that turns each
HTTP request into an API Gateway HTTP API (payload 2.0) event for the route's handler,
and one poller per SQS event source that behaves like the event source mapping.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar, TextIO
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.local import (
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    DEFAULT_STATE_DIR,
    FAKE_CREDENTIALS,
    LOG_FILE_NAME,
    STATE_FILE_NAME,
)
from intake_cli.provision import ACCOUNT_ID, provision
from intake_cli.runtime import HttpResponse, LocalRuntime
from intake_cli.samples import DEV_SECRETS, load_secrets
from intake_cli.target import IntakeError
from intake_cli.template import SamTemplate, TemplateError

if TYPE_CHECKING:
    from pathlib import Path

    from intake_cli.poller import QueuePoller
    from intake_cli.provision import Stack

# API Gateway HTTP APIs refuse larger request payloads with 413 before any integration runs.
HTTP_API_PAYLOAD_LIMIT = 10 * 1024 * 1024

LOG = logging.getLogger("intake.stack")
ACCESS_LOG = logging.getLogger("intake.gateway")


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
        self._environment = _ProcessEnvironment()
        self._logs = _LogRouting(self.options.log_file, capture_stdout=self.options.capture_stdout)
        self._moto: Any = None
        self._gateway: _Gateway | None = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto, provision the template, load the handlers, serve routes and poll queues."""
        options = self.options
        template = SamTemplate(parameters=dict(options.parameters))
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
                    "NO_PROXY": _no_proxy(),
                },
                remove=("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"),
            )
            _reset_client_cache()
            session = boto3.session.Session(region_name=options.region)
            self.stack = provision(template, session, options.stack_name, secrets, endpoint_url=self.aws_endpoint_url)
            self.runtime = LocalRuntime(
                self.stack, session, endpoint_url=self.aws_endpoint_url, retry_visibility=options.retry_visibility
            )
            self._environment.set(_shared_environment(self.runtime))
            self._load_handlers()
            self._start_gateway()
            self._start_pollers()
            self._start_metrics(session)
            self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
            if options.state_file is not None:
                _write_json(options.state_file, self.state())
        except BaseException:
            self.stop()
            raise
        LOG.info("local stack %s up: api %s, aws %s", options.stack_name, self.api_url, self.aws_endpoint_url)

    def stop(self) -> None:
        """Stop serving, let the pollers finish their batch, stop moto, restore the process."""
        self._stopping.set()
        if self._gateway is not None:
            self._gateway.shutdown()
            self._gateway.server_close()
            self._gateway = None
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        state_file = self.options.state_file
        if state_file is not None and _owned_by_this_process(state_file):
            state_file.unlink(missing_ok=True)
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._environment.restore()
        _reset_client_cache()
        self._logs.stop()

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
        """The template's Outputs resolved against this stack; ApiUrl is the local gateway."""
        stack, _ = self._require_started()
        outputs: dict[str, str] = {}
        for name, output in dict(stack.template.document.get("Outputs", {})).items():
            # Outputs naming what the local stack does not create (alarm topic, dashboard) are left out.
            with contextlib.suppress(TemplateError):
                outputs[name] = str(stack.resolve(output["Value"]))
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

    def _load_handlers(self) -> None:
        """Import every handler now (Lambda's init phase), with its own environment."""
        _, runtime = self._require_started()
        for function in runtime.functions.values():
            _ = function.handler
        self._logs.capture_powertools_loggers()

    def _start_gateway(self) -> None:
        _, runtime = self._require_started()
        try:
            self._gateway = _Gateway(("127.0.0.1", self.options.port), runtime)
        except OSError as exc:
            raise StackError(f"cannot listen on 127.0.0.1:{self.options.port} ({exc.strerror}): pick --port") from exc
        self.api_url = f"http://127.0.0.1:{self._gateway.server_address[1]}"
        self._spawn("gateway", self._gateway.serve_forever)

    def _start_pollers(self) -> None:
        for poller in self.pollers:
            self._spawn(f"poller-{poller.source.queue_id}", self._poll, poller)

    def _poll(self, poller: QueuePoller) -> None:
        """One event source mapping: long-poll, gather a batch for the window, invoke, repeat."""
        while not self._stopping.is_set():
            try:
                poller.poll_once(wait_seconds=1, batching_window=poller.source.batching_window)
            except (BotoCoreError, ClientError):
                if self._stopping.is_set():
                    return
                LOG.exception("polling %s failed; retrying in 1 s", poller.source.queue_id)
                self._stopping.wait(1)

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


def _shared_environment(runtime: LocalRuntime) -> dict[str, str]:
    """Variables every function has with the same value (the template's Globals).

    They are set for the whole process, because handlers also read them while running
    (Powertools reads its metrics namespace when a single metric is written), as they
    would in Lambda. Per-function ones (VENDOR, QUEUE_URL...) are set while each
    function's module loads.
    """
    environments = [function.environment for function in runtime.functions.values()]
    if not environments:
        return {}
    shared = dict(environments[0])
    for environment in environments[1:]:
        shared = {name: value for name, value in shared.items() if environment.get(name) == value}
    return shared


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


class _Gateway(ThreadingHTTPServer):
    """The HTTP API: every request becomes a payload-2.0 event for the route's handler."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when many senders (or the CLI's
    # liveness probe) arrive at once; API Gateway never refuses a connection.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], runtime: LocalRuntime) -> None:
        self.runtime = runtime
        super().__init__(address, _GatewayHandler)


class _GatewayHandler(BaseHTTPRequestHandler):
    server: _Gateway
    server_version = "intake-local-gateway"
    _NOT_FOUND: ClassVar[HttpResponse] = HttpResponse(
        404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
    )

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _PayloadTooLargeError:
            response = HttpResponse(
                413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}'
            )
        else:
            response = self._invoke(url.path, url.query, body)
        self._send(response)
        ACCESS_LOG.info("%s %s %d %.0fms", self.command, url.path, response.status, (time.monotonic() - started) * 1000)

    def _invoke(self, path: str, query: str, body: bytes) -> HttpResponse:
        try:
            return self.server.runtime.request(self.command, path, self._headers(), body, query=query)
        except Exception:  # the function failed: API Gateway answers 500, as here
            LOG.exception("%s %s: the function raised", self.command, path)
            return HttpResponse(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')

    def _headers(self) -> dict[str, str]:
        # Repeated headers arrive joined with commas, as API Gateway passes them.
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("content-length") or 0)
        if length > HTTP_API_PAYLOAD_LIMIT:
            raise _PayloadTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline().split(b";", 1)[0].strip()
            length = int(line or b"0", 16)
            if length == 0:
                self.rfile.readline()
                return b"".join(chunks)
            size += length
            if size > HTTP_API_PAYLOAD_LIMIT:
                raise _PayloadTooLargeError
            chunks.append(self.rfile.read(length))
            self.rfile.readline()

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug(format, *args)


class _PayloadTooLargeError(Exception):
    """The request body is over the HTTP API limit."""


class _ProcessEnvironment:
    """os.environ changes that stop() undoes (the stack may run inside a longer process)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        for name in [*values, *remove]:
            self._saved.setdefault(name, os.environ.get(name))
        os.environ.update(values)
        for name in remove:
            os.environ.pop(name, None)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


class _LogRouting:
    """Handler logs, EMF metric lines, moto's request log and warnings go to the log file, not the terminal."""

    # moto's server logs every request (pollers long-poll all the time) at INFO: keep its warnings only.
    _ROUTED: ClassVar[dict[str, int]] = {
        "intake": logging.INFO,
        "werkzeug": logging.WARNING,
        "py.warnings": logging.INFO,
    }

    def __init__(self, path: Path, capture_stdout: bool) -> None:
        self.path = path
        self.capture_stdout = capture_stdout
        self._file: TextIO | None = None
        self._handler: logging.Handler | None = None
        self._saved_levels: dict[str, tuple[int, bool]] = {}
        self._saved_streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._saved_stdout: TextIO | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._handler = logging.StreamHandler(self._file)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        for name, level in self._ROUTED.items():
            logger = logging.getLogger(name)
            self._saved_levels[name] = (logger.level, logger.propagate)
            logger.addHandler(self._handler)
            logger.setLevel(level)
            logger.propagate = False
        logging.captureWarnings(True)
        if self.capture_stdout:
            self._saved_stdout = sys.stdout
            sys.stdout = self._file

    def capture_powertools_loggers(self) -> None:
        """Point every Powertools logger's handler at the log file (they are made writing to stdout)."""
        for logger in list(logging.root.manager.loggerDict.values()):
            handler = getattr(logger, "powertools_handler", None)
            if isinstance(handler, logging.StreamHandler) and self._file is not None:
                self._saved_streams.append((handler, handler.stream))
                handler.setStream(self._file)

    def stop(self) -> None:
        if self._saved_stdout is not None:
            sys.stdout = self._saved_stdout
            self._saved_stdout = None
        for handler, stream in self._saved_streams:
            handler.setStream(stream)
        self._saved_streams.clear()
        logging.captureWarnings(False)
        for name, (level, propagate) in self._saved_levels.items():
            logger = logging.getLogger(name)
            if self._handler is not None:
                logger.removeHandler(self._handler)
            logger.setLevel(level)
            logger.propagate = propagate
        self._saved_levels.clear()
        if self._file is not None:
            self._file.close()
            self._file = None


def _reset_client_cache() -> None:
    """Handlers' cached boto3 clients read AWS_ENDPOINT_URL when made: make them again."""
    from webhook_intake.clients import reset

    reset()


def _no_proxy() -> str:
    """NO_PROXY with the loopback added: a proxy must never see the local stack's traffic."""
    current = [entry for entry in os.environ.get("NO_PROXY", "").split(",") if entry]
    return ",".join(dict.fromkeys([*current, "127.0.0.1", "localhost"]))


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


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM (the handlers only record it; the caller stops the stack)."""
    import signal

    requested = threading.Event()

    def ask_to_stop(signum: int, frame: object) -> None:
        requested.set()

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not requested.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
