"""Queue depths, dead letters and redrive, the same way against the local and a deployed stack."""

from __future__ import annotations

import base64
import signal
import threading
import time
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from intake_cli.stopping import TAKEN_AS_CTRL_C
from intake_cli.target import IntakeError, aws_problem
from webhook_intake.ingest.queue import attributes_size
from webhook_intake.ingest.settings import SQS_MAX_MESSAGE_BYTES
from webhook_intake.times import iso_millis

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from intake_cli.target import Target

SQS_BATCH = 10
# A peeked dead letter stays hidden this long, so one listing does not see it twice.
PEEK_VISIBILITY = 30
# How long a read of a queue waits, once, before taking an empty answer as an empty queue (receive_all).
EMPTY_WAIT_SECONDS = 1


@dataclass(frozen=True)
class QueueStatus:
    """One vendor's pipeline at a glance."""

    vendor: str
    queued: int | None
    """None (and ``in_flight`` too) when the queue cannot be read."""
    in_flight: int | None
    oldest_age_seconds: int | None
    """CloudWatch's ApproximateAgeOfOldestMessage (latest datapoint), None when unknown or empty."""
    dead_letters: int | None
    """None (and ``dead_letters_in_flight`` too) when the dead-letter queue cannot be read."""
    dead_letters_in_flight: int | None
    events_stored: int | None
    quarantined: int | None = None
    """Quarantined events waiting for an operator (``intake dlq list``); None when the table cannot be read."""

    def to_json(self) -> dict[str, Any]:
        """The row as ``intake status --json`` prints it."""
        return {
            "vendor": self.vendor,
            "queued": self.queued,
            "in_flight": self.in_flight,
            "oldest_age_seconds": self.oldest_age_seconds,
            "dead_letters": None
            if self.dead_letters is None or self.dead_letters_in_flight is None
            else self.dead_letters + self.dead_letters_in_flight,
            "quarantined": self.quarantined,
            "events_stored": self.events_stored,
        }


@dataclass(frozen=True)
class DeadLetter:
    """A message on a dead-letter queue, as received (body and attributes untouched)."""

    vendor: str
    message_id: str
    body: str
    sent_timestamp: int | None
    receive_count: int | None
    message_attributes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The message as ``intake dlq list --json`` prints it (binary attribute values in base64)."""
        return {
            "vendor": self.vendor,
            "message_id": self.message_id,
            "sent_at": _iso(self.sent_timestamp),
            "receive_count": self.receive_count,
            "message_attributes": {
                name: {
                    key: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
                    for key, value in attribute.items()
                }
                for name, attribute in self.message_attributes.items()
            },
            "body": self.body,
        }


@dataclass(frozen=True)
class MoveResult:
    """What a redrive started or did."""

    vendor: str
    task_handle: str | None = None
    """StartMessageMoveTask's handle (deployed stack); None for the local mover."""
    moved: int | None = None
    """Messages moved (local mover, which finishes before it returns)."""
    running: bool = False
    """The task is one started before that is still moving the queue's messages (SQS runs one at a time)."""


def depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = call(
        sqs.get_queue_attributes,
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def statuses(
    target: Target,
    events_stored: dict[str, int] | None,
    quarantined: dict[str, int] | None = None,
    problems: list[str] | None = None,
) -> list[QueueStatus]:
    """Every vendor's queue, dead-letter queue, oldest message age and (when given) quarantined and stored
    events.

    A queue that cannot be read (deleted, or denied to these credentials) leaves its counts None and its
    problem in ``problems``, so the other vendors are still seen; it is raised when there is no list to
    take it, or when no queue at all could be read (one cause, said once).
    """
    sqs = target.client("sqs")
    cloudwatch = target.client("cloudwatch")
    rows = []
    unread: list[tuple[str, str]] = []
    for key, resources in target.vendors.items():
        queued, in_flight = _depth_or_none(sqs, resources.queue_url, f"{key}'s queue", unread)
        dead, dead_in_flight = _depth_or_none(
            sqs, resources.dead_letter_queue_url, f"{key}'s dead-letter queue", unread
        )
        age = oldest_age(cloudwatch, resources.queue_name) if queued or in_flight else None
        rows.append(
            QueueStatus(
                vendor=key,
                queued=queued,
                in_flight=in_flight,
                oldest_age_seconds=age,
                dead_letters=dead,
                dead_letters_in_flight=dead_in_flight,
                events_stored=None if events_stored is None else events_stored.get(key, 0),
                quarantined=None if quarantined is None else quarantined.get(key, 0),
            )
        )
    if unread and len(unread) == 2 * len(rows):
        raise IntakeError(unread[0][1])  # nothing to show: the cause, as every queue has it
    lines = [f"cannot read {name}: {cause}" for name, cause in unread]
    if lines and problems is None:
        raise IntakeError("\n".join(lines))
    if problems is not None:
        problems.extend(lines)
    return rows


def _depth_or_none(
    sqs: Any, queue_url: str, name: str, unread: list[tuple[str, str]]
) -> tuple[int, int] | tuple[None, None]:
    """:func:`depth`, or (None, None) with the queue named (``name`` and the queue's own) and the cause in
    ``unread`` when it cannot be read."""
    try:
        return depth(sqs, queue_url)
    except IntakeError as exc:
        unread.append((f"{name} ({queue_url.rstrip('/').rsplit('/', 1)[-1]})", str(exc)))
        return None, None


def oldest_age(cloudwatch: Any, queue_name: str) -> int | None:
    """The latest ApproximateAgeOfOldestMessage datapoint of the last five minutes, if any.

    SQS has no API for it: AWS publishes it to CloudWatch every minute, and the local
    stack publishes the same metric to moto every few seconds.
    """
    now = datetime.now(UTC)
    try:
        datapoints = cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        ).get("Datapoints", [])
    except (ClientError, BotoCoreError):
        # Reading metrics may be denied where reading queues is not: the age is optional.
        return None
    if not datapoints:
        return None
    latest = max(datapoints, key=lambda point: point["Timestamp"])
    return int(latest["Maximum"])


def dead_letters(
    target: Target,
    vendors: list[str],
    limit: int = 100,
    unread: list[tuple[str, str]] | None = None,
    waiting: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[DeadLetter]:
    """Up to ``limit`` messages of each vendor's dead-letter queue, left on the queue; ``waiting`` takes each
    queue's ApproximateNumberOfMessages as the read began (what ``intake status`` shows), by vendor; ``progress``
    hears how many were read so far, every vendor's together.

    SQS cannot peek: each message is received (hidden for a moment so none is seen twice),
    then made visible again at once. Receiving adds to its receive count on the
    dead-letter queue, which has no redrive policy, so nothing moves.

    A dead-letter queue that cannot be read (deleted, or denied to these credentials) is left out, its vendor and
    the problem, the queue named, in ``unread``, so the other vendors' are still listed; it is raised when there is
    no list to take it.
    """
    sqs = target.client("sqs")
    letters: list[DeadLetter] = []
    for key in vendors:
        url = target.vendor(key).dead_letter_queue_url
        try:
            visible = depth(sqs, url)[0]
            received = receive_all(sqs, url, limit, waiting=visible, progress=progress, read_before=len(letters))
        except IntakeError as exc:
            if unread is None:
                raise
            unread.append((key, f"cannot read {key}'s dead-letter queue ({url.rstrip('/').rsplit('/', 1)[-1]}): {exc}"))
            continue
        if waiting is not None:
            waiting[key] = visible
        for message in received:
            attributes = message.get("Attributes", {})
            letters.append(
                DeadLetter(
                    vendor=key,
                    message_id=message["MessageId"],
                    body=message["Body"],
                    sent_timestamp=_int_or_none(attributes.get("SentTimestamp")),
                    receive_count=_int_or_none(attributes.get("ApproximateReceiveCount")),
                    message_attributes=dict(message.get("MessageAttributes", {})),
                )
            )
        release(sqs, url, received)
    return letters


def redrive(target: Target, vendor: str, moved: Callable[[int], None] | None = None) -> MoveResult:
    """Move a vendor's dead letters back to the queue they came from.

    A deployed stack uses SQS's StartMessageMoveTask (SourceArn = the dead-letter queue;
    the destination defaults to each message's source queue). moto 5.2 does not implement
    StartMessageMoveTask (it answers 500), so the local stack uses LocalMessageMover,
    which does the same move with receive/send/delete, and tells ``moved`` how many it has
    moved so far, after each batch (a move stopped part way by Ctrl-C has moved those).
    """
    resources = target.vendor(vendor)
    sqs = target.client("sqs")
    mover_class = LocalMessageMover if target.local else SqsMessageMover
    mover: SqsMessageMover | LocalMessageMover = mover_class(sqs, moved=moved)
    running = mover.running_task(resources.dead_letter_queue_arn)
    if running is not None:
        # SQS refuses a second task for a queue while one runs: that one is moving these messages already.
        return MoveResult(vendor=vendor, task_handle=running, running=True)
    result = mover.start_message_move_task(SourceArn=resources.dead_letter_queue_arn)
    return MoveResult(
        vendor=vendor,
        task_handle=result.get("TaskHandle"),
        moved=result.get("ApproximateNumberOfMessagesMoved"),
    )


class SqsMessageMover:
    """SQS's own redrive: one StartMessageMoveTask call, the move runs in AWS (``moved`` hears nothing of it)."""

    def __init__(self, sqs: Any, moved: Callable[[int], None] | None = None) -> None:
        self.sqs = sqs

    def start_message_move_task(self, *, SourceArn: str, DestinationArn: str | None = None) -> dict[str, Any]:
        """Start the task; the answer holds its TaskHandle."""
        request = {"SourceArn": SourceArn, **({"DestinationArn": DestinationArn} if DestinationArn else {})}
        response = call(self.sqs.start_message_move_task, **request)
        return {"TaskHandle": response.get("TaskHandle"), "DestinationArn": DestinationArn}

    def running_task(self, source_arn: str) -> str | None:
        """The handle of a task still moving the queue's messages; None when there is none or it cannot be told
        (ListMessageMoveTasks may be denied where starting one is not: SQS then says whether one runs)."""
        try:
            results = self.sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
        except (ClientError, BotoCoreError):
            return None
        return next((str(task.get("TaskHandle")) for task in results if task.get("Status") == "RUNNING"), None)


class LocalMessageMover:
    """StartMessageMoveTask's move done by hand, for moto, which does not implement it.

    Same contract: the source is a dead-letter queue by ARN, the destination defaults to
    the queue whose redrive policy names it, and each message keeps its body and message
    attributes (a moved message is a new message, as with SQS: its receive count restarts).
    It moves the messages present when it starts and returns when done.
    """

    def __init__(self, sqs: Any, moved: Callable[[int], None] | None = None) -> None:
        self.sqs = sqs
        self.moved = moved

    def running_task(self, source_arn: str) -> str | None:
        """None: a local move is done before its start returns."""
        return None

    def start_message_move_task(self, *, SourceArn: str, DestinationArn: str | None = None) -> dict[str, Any]:
        """Move every message present now; the answer says how many moved."""
        source_url = self._url(SourceArn)
        destination_url = self._url(DestinationArn) if DestinationArn else self._source_queue_of(source_url)
        destination_arn = DestinationArn or self._arn(destination_url)
        visible, in_flight = depth(self.sqs, source_url)
        budget = visible + in_flight
        moved = 0
        while moved < budget:
            # A batch received is moved whole before Ctrl-C takes effect: stopped between, it would stay hidden.
            with ctrl_c_held():
                batch = call(
                    self.sqs.receive_message,
                    QueueUrl=source_url,
                    MaxNumberOfMessages=min(SQS_BATCH, budget - moved),
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["AWSTraceHeader"],
                    VisibilityTimeout=PEEK_VISIBILITY,
                ).get("Messages", [])
                if batch:
                    moved += move(self.sqs, batch, source_url, destination_url)
                    if self.moved is not None:
                        self.moved(moved)
            if not batch:
                break
        return {"DestinationArn": destination_arn, "ApproximateNumberOfMessagesMoved": moved}

    def _url(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        account = arn.split(":")[4] if arn.count(":") >= 5 else None
        request = {"QueueName": name, **({"QueueOwnerAWSAccountId": account} if account else {})}
        return str(call(self.sqs.get_queue_url, **request)["QueueUrl"])

    def _arn(self, url: str) -> str:
        return str(
            call(self.sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )

    def _source_queue_of(self, dead_letter_queue_url: str) -> str:
        sources = call(self.sqs.list_dead_letter_source_queues, QueueUrl=dead_letter_queue_url).get("queueUrls", [])
        if len(sources) != 1:
            raise IntakeError(
                f"{dead_letter_queue_url} is the dead-letter queue of {len(sources)} queues: name the destination"
            )
        return str(sources[0])


def move(sqs: Any, batch: list[dict[str, Any]], source_url: str, destination_url: str) -> int:
    """Send received messages (up to ten) to ``destination_url``, then delete the ones SQS took from the source.

    A message SQS did not take (``Failed``, answered with HTTP 200) is made visible again where
    it was. SQS takes 1 MiB per batch request, so large messages go in several.
    """
    return sum(_move(sqs, group, source_url, destination_url) for group in _within_a_request(batch))


def _within_a_request(batch: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``batch`` in groups whose bodies and attributes together fit one SendMessageBatch."""
    group: list[dict[str, Any]] = []
    size = 0
    for message in batch:
        own = len(message["Body"].encode("utf-8")) + attributes_size(message.get("MessageAttributes", {}))
        if group and size + own > SQS_MAX_MESSAGE_BYTES:
            yield group
            group, size = [], 0
        group.append(message)
        size += own
    if group:
        yield group


def _move(sqs: Any, batch: list[dict[str, Any]], source_url: str, destination_url: str) -> int:
    entries = [resend_entry(str(index), message) for index, message in enumerate(batch)]
    sent = call(sqs.send_message_batch, QueueUrl=destination_url, Entries=entries)
    done = {entry["Id"] for entry in sent.get("Successful", [])}
    delivered = [message for index, message in enumerate(batch) if str(index) in done]
    try:
        delete(sqs, source_url, delivered)
    except IntakeError as exc:
        raise IntakeError(
            f"{len(delivered)} message(s) sent to {destination_url}, but not all deleted from {source_url}"
            f" (those are on both queues now): {exc}"
        ) from None
    failed = [message for index, message in enumerate(batch) if str(index) not in done]
    release(sqs, source_url, failed)
    if failed:
        raise IntakeError(f"{len(failed)} message(s) could not be sent to {destination_url}; they stay put")
    return len(delivered)


def resend_entry(entry_id: str, message: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = {
        name: {key: value for key, value in attribute.items() if key in ("DataType", "StringValue", "BinaryValue")}
        for name, attribute in message.get("MessageAttributes", {}).items()
    }
    if attributes:
        entry["MessageAttributes"] = attributes
    trace = message.get("Attributes", {}).get("AWSTraceHeader")
    if trace:
        entry["MessageSystemAttributes"] = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    return entry


def receive_all(
    sqs: Any,
    queue_url: str,
    limit: int,
    within: float | None = None,
    waiting: int | None = None,
    progress: Callable[[int], None] | None = None,
    read_before: int = 0,
) -> list[dict[str, Any]]:
    """Messages of a queue, received (hidden for a moment) up to ``limit``; for at most ``within`` seconds.
    ``progress`` hears how many were received so far, after each receive, counted on from ``read_before`` (what
    a read of several queues received from those before this one).

    A short-poll ReceiveMessage asks a sample of SQS's servers: on a real queue it can answer
    nothing while messages wait on the others (moto's never does). So an empty answer ends the
    read only once the queue's ApproximateNumberOfMessages (read first, or ``waiting``) is received, or a long
    poll (which asks every server) answers nothing too: else `dlq list --stack` could show no
    dead letters while some wait. The long poll waits only when the queue is empty after all, at
    most EMPTY_WAIT_SECONDS, once; it follows a short poll only while the count says more wait.

    A read stopped part way (Ctrl-C, a failing receive) makes what it had received visible again
    first: else those messages would stay hidden, missing from the next look and from a redrive.
    """
    received: list[dict[str, Any]] = []
    deadline = None if within is None else time.monotonic() + within
    if waiting is None:
        waiting = depth(sqs, queue_url)[0]
    try:
        while len(received) < limit and (deadline is None or time.monotonic() < deadline):
            batch = _receive_into(received, sqs, queue_url, limit)
            if not batch and len(received) < waiting:
                batch = _receive_into(received, sqs, queue_url, limit, wait=EMPTY_WAIT_SECONDS)
            if not batch:
                break
            if progress is not None:
                progress(read_before + len(received))
    except BaseException:
        release(sqs, queue_url, received)
        raise
    return received


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Ctrl-C (or SIGTERM or SIGHUP, which the ``intake`` command takes as Ctrl-C) in the block takes effect as the
    block ends; a second one at once.

    SQS hides the messages of a receive as it answers: Ctrl-C while the answer is on its way would
    lose their receipt handles, and the read could not make them visible again (they would stay hidden
    from the next look and from a redrive for PEEK_VISIBILITY). Only the main thread hears signals, and
    only a signal Python handles (not one left to the system, or ignored) is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *TAKEN_AS_CTRL_C)}
    handlers: dict[int, Callable[[int, Any], Any]] = {
        signum: handler for signum, handler in previous.items() if callable(handler)
    }
    pressed: list[tuple[int, Any]] = []

    def hold(signum: int, frame: Any) -> None:
        pressed.append((signum, frame))
        for held, handler in handlers.items():  # a second one (a request that hangs) stops at once
            signal.signal(held, handler)

    try:
        for signum in handlers:
            signal.signal(signum, hold)
        yield
    finally:
        for signum, handler in handlers.items():
            if signal.getsignal(signum) is hold:
                signal.signal(signum, handler)
    if pressed:
        signum, frame = pressed[0]
        handlers[signum](signum, frame)


def _receive_into(
    received: list[dict[str, Any]], sqs: Any, queue_url: str, limit: int, wait: int = 0
) -> list[dict[str, Any]]:
    """One receive of up to ``limit`` in all, added to ``received`` before Ctrl-C takes effect; the batch."""
    with ctrl_c_held():
        batch = _receive(sqs, queue_url, min(SQS_BATCH, limit - len(received)), wait=wait)
        received.extend(batch)
    return batch


def _receive(sqs: Any, queue_url: str, most: int, wait: int = 0) -> list[dict[str, Any]]:
    """One ReceiveMessage: a short poll, or with ``wait`` a long poll of that many seconds."""
    return list(
        call(
            sqs.receive_message,
            QueueUrl=queue_url,
            MaxNumberOfMessages=most,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=PEEK_VISIBILITY,
            WaitTimeSeconds=wait,
        ).get("Messages", [])
    )


def delete(
    sqs: Any, queue_url: str, messages: list[dict[str, Any]], deleted: Callable[[int], None] | None = None
) -> None:
    """Delete received messages, ten to a request; ``deleted`` hears how many are gone so far, after each.

    Ctrl-C takes effect between two requests (a second one at once): one SQS was answering is counted first, so
    that what a stopped delete says it did is what went for good.
    """
    _by_receipt(sqs.delete_message_batch, queue_url, messages, heard=deleted, each=ctrl_c_held)


def release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Make received messages visible again at once.

    Ctrl-C takes effect once all are visible (a second one at once): stopped between two of its requests, the
    rest would stay hidden from the next look and from a redrive for PEEK_VISIBILITY.
    """
    with ctrl_c_held():
        _by_receipt(sqs.change_message_visibility_batch, queue_url, messages, VisibilityTimeout=0)


def _by_receipt(
    batch_operation: Any,
    queue_url: str,
    messages: list[dict[str, Any]],
    heard: Callable[[int], None] | None = None,
    each: Callable[[], AbstractContextManager[None]] = nullcontext,
    **entry: Any,
) -> None:
    """``batch_operation`` on received messages by their receipt handles, ten to a request, each within ``each``.

    SQS answers a batch with HTTP 200 even when it refuses entries (``Failed``): any refused entry
    is an IntakeError, never a silent success. ``heard`` is told after each request how many it
    has acted on so far (refused entries left out).
    """
    refused: list[dict[str, Any]] = []
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        with each():
            answer = call(
                batch_operation,
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], **entry} for i, m in enumerate(chunk)],
            )
            refused.extend(answer.get("Failed", []) if isinstance(answer, dict) else [])
            if heard is not None:
                heard(start + len(chunk) - len(refused))
    if refused:
        first = refused[0]
        name = getattr(batch_operation, "__name__", "the batch request")
        raise IntakeError(
            f"{name} refused {len(refused)} of {len(messages)} message(s) on {queue_url}:"
            f" {first.get('Code')}: {first.get('Message')}"
        )


def call(operation: Any, **kwargs: Any) -> Any:
    """An AWS call whose failure becomes one readable line."""
    try:
        return operation(**kwargs)
    except ClientError as exc:
        raise IntakeError(f"{exc.operation_name} failed: {aws_problem(exc)}") from None
    except BotoCoreError as exc:
        raise IntakeError(f"AWS call failed: {exc}") from None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _iso(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return iso_millis(datetime.fromtimestamp(milliseconds / 1000, UTC))
