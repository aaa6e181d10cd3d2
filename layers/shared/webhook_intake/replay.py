"""Credentials that may be used only once, one DynamoDB item each (``ReplayTable``).

A conditional ``PutItem`` records a credential and refuses one already recorded, atomically:
a replay is refused on any Lambda instance, even when two arrive at once. Items expire by
DynamoDB TTL (``expires_at``) once the credential could no longer be accepted anyway, so the
table stays a few minutes of traffic deep.

Two uses: OpenWeb's client-assertion ids (``jti``), each usable once; and FastComments
signatures, which cover the body and timestamp but not the route: a signature is bound to the
route it first arrived on, so the same request again (a retry on the way) is still taken, and
the same bytes replayed to another event's route are refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_intake.clients import error_code, retried
from webhook_intake.store.table import TableAccess

if TYPE_CHECKING:
    from collections.abc import Callable

    Attempts = Callable[[Callable[[], object]], object]
    """How a write is made: ``call`` once, or again while the caller's deadline allows (returns its answer)."""

# One attempt a call, with short timeouts: the caller tries again while another attempt fits its deadline
# (``record``'s ``within``). botocore's own retries (three attempts and their back-off, some 9 s) know no
# deadline. The requests are built here, so botocore's parameter validation is skipped (as on every
# function client).
REPLAY_TABLE_CONFIG = Config(
    connect_timeout=0.5,
    read_timeout=1.5,
    retries={"total_max_attempts": 1},
    parameter_validation=False,
)
REPLAY_MARGIN = 300
"""Seconds a credential is kept beyond its own expiry (clocks of Lambda hosts and DynamoDB differ)."""
KEY_ATTRIBUTE = "credential"


class ReplayedError(Exception):
    """The credential was used before (for another scope, where a scope is given)."""


class ReplayStoreError(RuntimeError):
    """DynamoDB did not answer: the request must fail with a 5xx, never pass unchecked."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One use of a credential: ``key`` names it (``<vendor>:<kind>:<value>``)."""

    key: str
    expires_at: int
    """Unix seconds after which the credential is refused anyway; the item outlives it by the margin."""
    scope: str | None = None
    """Where the credential was used; with a scope, the same use again is taken and another is refused."""


class UsedCredentials(TableAccess):
    """The table of used credentials."""

    client_config = REPLAY_TABLE_CONFIG

    def record(self, claim: Claim, now: float, within: Attempts | None = None) -> None:
        """Record ``claim``; raises :class:`ReplayedError` if the credential was used before elsewhere.

        ``within`` makes the write, trying it again as the caller's deadline allows; without it the write is
        made once.
        """
        item = {
            KEY_ATTRIBUTE: {"S": claim.key},
            "used_at": {"N": str(int(now))},
            "expires_at": {"N": str(claim.expires_at + REPLAY_MARGIN)},
            # This write's own token: a put botocore sends again after a lost answer finds its own item.
            "write": {"S": secrets.token_hex(8)},
        }
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#key)",
            "ExpressionAttributeNames": {"#key": KEY_ATTRIBUTE},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if claim.scope is not None:
            item["scope"] = {"S": claim.scope}
            request["ConditionExpression"] += " OR #scope = :scope"
            request["ExpressionAttributeNames"]["#scope"] = "scope"
            request["ExpressionAttributeValues"] = {":scope": {"S": claim.scope}}
        sent = 0

        def put() -> object:
            nonlocal sent
            sent += 1
            return self.dynamodb.put_item(**request)

        try:
            put() if within is None else within(put)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                found = exc.response.get("Item")  # with ReturnValuesOnConditionCheckFailure=ALL_OLD
                resent = retried(exc) or sent > 1
                if resent and isinstance(found, dict) and found.get("write") == item["write"]:
                    return  # recorded by this very call, its first answer lost
                raise ReplayedError("the credential was used before") from None
            raise ReplayStoreError(f"put_item failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise ReplayStoreError(f"put_item failed: {error_code(exc)}") from exc
