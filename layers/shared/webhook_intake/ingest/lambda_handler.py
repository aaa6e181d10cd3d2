"""Builds the ingest Lambda handler from the environment (used by functions/ingest/app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webhook_intake.http import MalformedRequestError, Request
from webhook_intake.ingest.contract import RejectedError
from webhook_intake.ingest.queue import QueueSender
from webhook_intake.ingest.service import IngestService
from webhook_intake.ingest.settings import IngestSettings
from webhook_intake.observability import count_cold_start, function_logger, name_vendor, vendor_metrics
from webhook_intake.registry import vendor
from webhook_intake.replay import UsedCredentials
from webhook_intake.secrets import SecretStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext


def build_service(settings: IngestSettings, logger: Logger, metrics: Metrics) -> IngestService:
    """The vendor's ingest service wired to AWS (clients are created on first use)."""
    return IngestService(
        contract=vendor(settings.vendor).contract(),
        secrets=SecretStore(settings.secret_id, max_age=settings.secret_max_age, logger=logger),
        queue=QueueSender(
            settings.queue_url,
            settings.inline_max_bytes,
            payload_bucket=settings.payload_bucket,
            retention_days=settings.retention_days,
        ),
        logger=logger,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        used_credentials=UsedCredentials(settings.replay_table_name) if settings.replay_table_name else None,
    )


def build_handler(
    settings: IngestSettings | None = None,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler for the vendor named by ``VENDOR``.

    No Powertools Tracer here, deliberately: it loads the X-Ray SDK, a fifth of an ingest
    cold start (docs/performance.md). The function still runs with active tracing, and the
    queue sender passes the trace header on, so the consumer's trace continues this one.
    """
    settings = settings or IngestSettings.from_env()
    logger = function_logger()
    metrics = vendor_metrics(settings.vendor)
    count_cold_start(metrics)
    service = build_service(settings, logger, metrics)

    # Never the event: it holds credentials and comment text, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        name_vendor(logger, settings.vendor)
        try:
            request = Request.from_http_api_event(event)
        except MalformedRequestError as exc:
            return service.refused(RejectedError(400, "malformed_request", str(exc))).to_http_api()
        return service.handle(request).to_http_api()

    return handler
