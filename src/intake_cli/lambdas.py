"""The template's handlers, loaded the way Lambda loads them: module file, environment, context."""

from __future__ import annotations

import importlib.util
import os
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from intake_cli.events import ACCOUNT_ID

if TYPE_CHECKING:
    from collections.abc import Callable

    from intake_cli.template import FunctionSpec

_ENV_LOCK = threading.Lock()


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        """Remaining time; the local stack does not cut handlers off."""
        return self.timeout_seconds * 1000


class LocalFunction:
    """One function of the template, with its own module instance and environment."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], region: str = "us-east-1") -> None:
        self.spec = spec
        self.environment = environment
        self.region = region
        self._handler: Callable[[dict[str, Any], Any], Any] | None = None
        # A Lambda execution environment runs one event at a time, and handlers keep
        # per-invocation state at module level (Powertools' logger keys): one at a time here too.
        self._invoke_lock = threading.Lock()

    @property
    def handler(self) -> Callable[[dict[str, Any], Any], Any]:
        """The handler, imported on first use with the function's environment set."""
        if self._handler is None:
            self._handler = self._load()
        return self._handler

    def _load(self) -> Callable[[dict[str, Any], Any], Any]:
        name = f"lambda_{self.spec.logical_id}"
        spec = importlib.util.spec_from_file_location(name, self.spec.app_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {self.spec.app_path}")
        module = importlib.util.module_from_spec(spec)
        # Module start-up reads the environment (as in Lambda); set it only for the import.
        with _ENV_LOCK:
            saved = {key: os.environ.get(key) for key in self.environment}
            os.environ.update(self.environment)
            try:
                spec.loader.exec_module(module)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, self.spec.handler_name)
        return handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a fresh context."""
        context = LambdaContext(
            function_name=self.spec.logical_id,
            memory_limit_in_mb=self.spec.memory_size,
            timeout_seconds=self.spec.timeout,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.spec.logical_id}",
            aws_request_id=str(uuid.uuid4()),
        )
        with self._invoke_lock:
            return self.handler(event, context)
