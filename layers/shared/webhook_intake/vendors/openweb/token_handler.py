"""Builds the OpenWeb token Lambda handler from the environment (used by functions/openweb_token/app.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

from webhook_intake.http import MalformedRequestError, Request
from webhook_intake.ingest.settings import DEFAULT_SECRET_MAX_AGE, SettingsError, integer, required
from webhook_intake.observability import count_cold_start, function_logger, name_vendor, vendor_metrics
from webhook_intake.replay import UsedCredentials
from webhook_intake.secrets import SecretStore
from webhook_intake.vendors.openweb.access_token import MAX_ACCESS_TOKEN_TTL
from webhook_intake.vendors.openweb.token_endpoint import (
    DEFAULT_ACCESS_TOKEN_TTL,
    MIN_ACCESS_TOKEN_TTL,
    InvalidRequestError,
)
from webhook_intake.vendors.openweb.token_service import TokenService

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """What the token function is configured with (see template.yaml, ``OpenWebTokenFunction``)."""

    vendor: str
    secret_id: str
    replay_table_name: str
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL
    secret_max_age: int = DEFAULT_SECRET_MAX_AGE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSettings:
        """Read ``VENDOR``, ``SECRET_ID``, ``REPLAY_TABLE_NAME`` and the optional TTLs.

        The route's own URL, an accepted assertion audience, is the one each request came to:
        an environment variable naming it would make the function depend on the API that
        depends on the function (CloudFormation refuses the loop).
        """
        env = os.environ if env is None else env
        ttl = integer(env, "ACCESS_TOKEN_TTL_SECONDS", DEFAULT_ACCESS_TOKEN_TTL, MIN_ACCESS_TOKEN_TTL)
        if ttl > MAX_ACCESS_TOKEN_TTL:
            raise SettingsError(f"environment variable ACCESS_TOKEN_TTL_SECONDS must be at most {MAX_ACCESS_TOKEN_TTL}")
        return cls(
            vendor=required(env, "VENDOR"),
            secret_id=required(env, "SECRET_ID"),
            replay_table_name=required(env, "REPLAY_TABLE_NAME"),
            access_token_ttl=ttl,
            secret_max_age=integer(env, "SECRET_MAX_AGE_SECONDS", DEFAULT_SECRET_MAX_AGE, 0),
        )


def build_service(
    settings: TokenSettings, logger: Logger, metrics: Metrics, dynamodb_client: DynamoDBClient | None = None
) -> TokenService:
    """The token service wired to AWS (clients are created on first use)."""
    return TokenService(
        secrets=SecretStore(settings.secret_id, max_age=settings.secret_max_age, logger=logger),
        used_credentials=UsedCredentials(settings.replay_table_name, dynamodb_client),
        logger=logger,
        metrics=metrics,
        access_token_ttl=settings.access_token_ttl,
    )


def build_handler(
    settings: TokenSettings | None = None,
    dynamodb_client: DynamoDBClient | None = None,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda handler of ``POST /oauth/openweb/token``."""
    settings = settings or TokenSettings.from_env()
    logger = function_logger()
    tracer = Tracer()
    metrics = vendor_metrics(settings.vendor)
    count_cold_start(metrics)
    service = build_service(settings, logger, metrics, dynamodb_client)

    # log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the body holds the client assertion.
    @logger.inject_lambda_context(clear_state=True, log_event=False)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        name_vendor(logger, settings.vendor)
        try:
            request = Request.from_http_api_event(event)
        except MalformedRequestError:
            return service.refused(InvalidRequestError("the request body cannot be read")).to_http_api()
        return service.handle(request).to_http_api()

    # Tracer's decorator is typed to return Any; the handler keeps its Lambda signature.
    return cast("Callable[[dict[str, Any], LambdaContext], dict[str, Any]]", handler)
