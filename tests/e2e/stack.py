"""The real local stack in a subprocess (`intake serve`), and the `intake` CLI run against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from intake_cli.samples import golden_events, sample_files
from webhook_intake.registry import VENDORS

STARTUP_TIMEOUT = 60.0


def intake_command() -> list[str]:
    """The console script installed next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("intake")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "intake_cli.main"]


def cli_environment(state_dir: Path) -> dict[str, str]:
    """The test process's environment (fake AWS credentials), with its own state dir and no endpoint override."""
    environment = {**os.environ, "INTAKE_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    environment.pop("AWS_ENDPOINT_URL", None)
    return environment


def run_cli(
    state_dir: Path, *args: str, timeout: float = 60, extra_environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One `intake` command (with ``extra_environment`` set as the user's shell would); its exit status and output."""
    return subprocess.run(
        [*intake_command(), *args],
        env={**cli_environment(state_dir), **(extra_environment or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """A `--json` command's output: one object a line."""
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def killed_if_running(process: subprocess.Popen[Any]) -> None:
    """A process a test started, ended (SIGKILL) and reaped if the test left it running: none outlives its test."""
    if process.poll() is None:
        process.kill()
        process.wait()


@dataclass
class ServedStack:
    """`intake serve` running in a subprocess with its own state dir."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    output: Path
    state: dict[str, Any]

    @property
    def api_url(self) -> str:
        return str(self.state["api_url"])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.state_dir, *args)

    def cli_together(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        """Independent commands run at the same time (each is a process start), results in order."""
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(pool.map(lambda args: run_cli(self.state_dir, *args), commands))

    def sqs(self) -> Any:
        """A client on the stack's moto server (for waiting; the assertions go through the CLI)."""
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.state["region"]
        ).client("sqs", endpoint_url=self.state["aws_endpoint_url"])

    def depth(self, logical_id: str) -> int:
        """Visible plus in-flight messages of a template queue."""
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=self.state["resources"][logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def wait_for(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.output.read_text()}")

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start_served_stack(
    state_dir: Path, *serve_args: str, extra_environment: dict[str, str] | None = None
) -> ServedStack:
    """Start `intake serve --port 0` (``extra_environment`` set as the user's shell would) and wait until it has
    written stack.json."""
    state_dir.mkdir(parents=True, exist_ok=True)
    output = state_dir / "serve.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*intake_command(), "serve", "--port", "0", *serve_args],
            env={**cli_environment(state_dir), **(extra_environment or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    state_file = state_dir / "stack.json"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"intake serve exited with {process.returncode}:\n{output.read_text()}")
        if state_file.is_file():
            return ServedStack(process, state_dir, output, json.loads(state_file.read_text()))
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise AssertionError(f"intake serve wrote no stack.json within {STARTUP_TIMEOUT:.0f} s:\n{output.read_text()}")


def expected_event_ids() -> dict[str, set[str]]:
    """Each vendor's event ids the samples' golden files promise (what the stack must store of events/)."""
    ids: dict[str, set[str]] = {key: set() for key in VENDORS}
    for key in VENDORS:
        for path in sample_files(key):
            ids[key].update(str(event["event_id"]) for event in golden_events(key, path))
    return ids
