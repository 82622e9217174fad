"""The per-request objects the points routes ask for: the ledger, the account, Idempotency-Keys.

The factories are ``async def`` although most do not await: FastAPI runs a plain ``def``
dependency in its thread pool.
"""

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_json

from common.auth import CurrentUser
from common.dependencies import settings_dependency
from common.sql import DbTransaction
from points.config import Settings
from points.models import ACCOUNT_ID_PATTERN
from points.repository import RememberedResponse
from points.service import (
    DELETE_ANY,
    READ_AND_WRITE_ANY,
    IdempotentRequests,
    Ledger,
    own_account,
    request_fingerprint,
    visible_account,
)

REPLAYED_HEADER = "Idempotent-Replayed"
PointsSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
AccountIdPath = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=128)]


async def _ledger(transaction: DbTransaction) -> Ledger:
    return Ledger(transaction)


Ledgers = Annotated[Ledger, Depends(_ledger)]


async def _own_account(caller: CurrentUser) -> str:
    return own_account(caller)


async def _any_account(caller: CurrentUser, account_id: AccountIdPath) -> str:
    return visible_account(caller, account_id, any_of=READ_AND_WRITE_ANY)


async def _deletable_account(caller: CurrentUser, account_id: AccountIdPath) -> str:
    return visible_account(caller, account_id, any_of=DELETE_ANY)


OwnAccount = Annotated[str, Depends(_own_account)]
"""The caller's own ledger (the token's subject)."""
AnyAccount = Annotated[str, Depends(_any_account)]
"""The ledger in the path: the holder's, or any for admins and service tokens (404 else)."""
DeletableAccount = Annotated[str, Depends(_deletable_account)]
"""The ledger in the path: the holder's, or any for admins (404 else)."""


class Idempotency:
    """The request's Idempotency-Key: replays a remembered response, remembers a new one."""

    def __init__(self, requests: IdempotentRequests, key: str | None) -> None:
        self.requests = requests
        self.key = key
        self._claimed: tuple[str, str] | None = None  # (account id, fingerprint)

    async def replay(self, account_id: str, operation: str, body: BaseModel) -> JSONResponse | None:
        """The remembered response of a retry; None for a new request (the key is then held)."""
        if self.key is None:
            return None
        fingerprint = request_fingerprint(operation, body.model_dump(mode="json"))
        remembered = await self.requests.claim(account_id, self.key, fingerprint)
        if remembered is not None:
            headers = {REPLAYED_HEADER: "true"}
            return JSONResponse(remembered.body, remembered.status_code, headers=headers)
        self._claimed = (account_id, fingerprint)
        return None

    async def answer(self, status_code: int, result: Any) -> Response:
        """``result`` as the response, remembered under the key when the request has one
        (without a key it is serialized once, straight to JSON bytes)."""
        if self.key is None or self._claimed is None:
            return Response(to_json(result), status_code, media_type="application/json")
        body = jsonable_encoder(result)
        account_id, fingerprint = self._claimed
        remembered = RememberedResponse(fingerprint, status_code, body)
        await self.requests.remember(account_id, self.key, remembered)
        return JSONResponse(body, status_code=status_code)


async def _idempotency(
    settings: PointsSettings,
    transaction: DbTransaction,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r'^"?[!#-~]{1,255}"?$',
            description=(
                "Any 1-255 visible ASCII characters, quoted or not. A retry with the same key "
                "and body replays the first response; with another body it is 422; while the "
                "first is in progress it is 409. Keys are per account and kept 24 hours."
            ),
        ),
    ] = None,
) -> Idempotency:
    requests = IdempotentRequests(transaction, ttl_seconds=settings.idempotency_key_ttl_seconds)
    return Idempotency(requests, key.strip('"') if key else None)


IdempotencyKey = Annotated[Idempotency, Depends(_idempotency)]
