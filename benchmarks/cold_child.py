"""One cold start, in a fresh interpreter: ``python -S -B cold_child.py KIND FUNCTION_DIR LAYER_PATH INPUT``.

Times three phases with perf_counter_ns and process_time_ns and prints them on one line:
the imports (Lambda's init phase: for a handler, loading its module by file path), the first
AWS client, and the first request (AWS answered by benchmarks.canned). Only ``os``, ``sys``
and ``time`` are loaded before the clock starts, so the floor and the handler pay for
everything else they import.
"""

# ruff: noqa: PLC0415  (every import is deferred on purpose: the clock decides what each side pays for)
import os
import sys
import time


class _Context:
    """The parts of Lambda's context object Powertools reads."""

    function_name = "bench-cold-start"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-cold-start"
    memory_limit_in_mb = 256
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/bench-cold-start"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 6000


def _load_handler(function_dir):
    """Import ``app.py`` the way the Lambda runtime does: a module from the task root."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("app", os.path.join(function_dir, "app.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module.handler


def _floor_init(imports):
    """``imports()`` with the collector paused, then frozen: app.py's start-up trick, given to the floor too."""
    import gc

    gc.disable()
    try:
        return imports()
    finally:
        gc.freeze()
        gc.enable()


def _ingest_floor_import(function_dir):
    def imports():
        import boto3
        from botocore.config import Config

        return boto3, Config

    return _floor_init(imports)


def _ingest_floor_client(loaded):
    boto3, config = loaded
    # The ingest client's own settings (webhook_intake.ingest.queue.INGEST_CONFIG).
    settings = config(
        connect_timeout=0.5, read_timeout=1.5, retries={"total_max_attempts": 1}, parameter_validation=False
    )
    return boto3.client("sqs", config=settings)


def _ingest_floor_first(loaded, client, event, _context):
    client.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=event["body"])


def _ingest_client(_loaded):
    from webhook_intake.clients import client
    from webhook_intake.ingest.queue import INGEST_CONFIG

    return client("sqs", INGEST_CONFIG)


def _handler_first(loaded, _client, event, context):
    response = loaded(event, context)
    status = response.get("statusCode", 200) if isinstance(response, dict) else 200
    if status >= 300 or (isinstance(response, dict) and response.get("batchItemFailures")):
        raise SystemExit(f"first request failed: {response}")


def _consumer_floor_import(function_dir):
    def imports():
        import importlib

        import boto3
        import pydantic  # noqa: F401  (the floor pays for pydantic, as the consumer must)
        from botocore.config import Config

        import webhook_intake.consumer.models  # noqa: F401

        importlib.import_module(f"webhook_intake.vendors.{os.environ['VENDOR'].replace('-', '_')}.normalize")
        return boto3, Config

    return _floor_init(imports)


def _consumer_floor_client(loaded):
    boto3, config = loaded
    # The consumer client's own settings (webhook_intake.store.table.CONSUMER_CONFIG).
    settings = config(retries={"total_max_attempts": 5, "mode": "standard"}, parameter_validation=False)
    return boto3.client("dynamodb", config=settings)


def _consumer_floor_first(loaded, client, event, _context):
    import json

    for record in event["Records"]:
        document = json.loads(record["body"])
        for item in document.get("events", [document]):
            client.put_item(
                TableName=os.environ["TABLE_NAME"],
                Item={"pk": {"S": str(item.get("event_uuid"))}, "sk": {"S": "event"}, "raw": {"S": json.dumps(item)}},
                ConditionExpression="attribute_not_exists(pk)",
            )


def _consumer_client(_loaded):
    from webhook_intake.clients import client

    return client("dynamodb")


KINDS = {
    "ingest-floor": (_ingest_floor_import, _ingest_floor_client, _ingest_floor_first),
    "ingest": (_load_handler, _ingest_client, _handler_first),
    "consumer-floor": (_consumer_floor_import, _consumer_floor_client, _consumer_floor_first),
    "consumer": (_load_handler, _consumer_client, _handler_first),
}


def main() -> None:
    kind, function_dir, layer_path, input_file = sys.argv[1:5]
    load, make_client, first = KINDS[kind]
    # The task root first, then the layer (and the runtime's packages), as on Lambda:
    # /var/task, /opt/python, /var/runtime. Run with -S: nothing of this virtual environment.
    sys.path[0:1] = [function_dir, *layer_path.split(os.pathsep)]
    results = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (Powertools logs and EMF metrics, for the process's life)
    marks = [(time.perf_counter_ns(), time.process_time_ns())]
    loaded = load(function_dir)
    marks.append((time.perf_counter_ns(), time.process_time_ns()))
    client = make_client(loaded)
    marks.append((time.perf_counter_ns(), time.process_time_ns()))

    import json

    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.canned import CannedAWS, answering

    with open(input_file, encoding="utf-8") as source:
        given = json.load(source)
    with answering(CannedAWS(given["secrets"])):
        marks.append((time.perf_counter_ns(), time.process_time_ns()))
        first(loaded, client, given["event"], _Context())
        marks.append((time.perf_counter_ns(), time.process_time_ns()))
    phases = [marks[1], marks[2], marks[4]]
    starts = [marks[0], marks[1], marks[3]]
    numbers = [str(end[i] - start[i]) for start, end in zip(starts, phases, strict=True) for i in (0, 1)]
    results.write(" ".join(numbers) + "\n")
    results.flush()
    os._exit(0)  # skip interpreter teardown: not part of a cold start, and it is slow


if __name__ == "__main__":
    main()
