"""The /points endpoints: parse, authorize, call the Ledger, shape the response.

The ledger's operations are served twice: under ``/points`` on the caller's own ledger, and under
``/points/accounts/{account_id}`` on any ledger for admins and service tokens (and for the
holder itself); anyone else gets 404 there.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from common.auth import CurrentUser
from common.database import DbSession
from common.dependencies import settings_dependency
from common.problems import documented_problem
from points.config import Settings
from points.models import ACCOUNT_ID_PATTERN
from points.schemas import (
    HistoryQuery,
    PayerPoints,
    SpendIn,
    SpendOut,
    SpendPage,
    TransactionIn,
    TransactionOut,
    TransactionPage,
)
from points.service import (
    DELETE_ANY,
    READ_AND_WRITE_ANY,
    IdempotentRequests,
    Ledger,
    own_account,
    visible_account,
)

REPLAYED_HEADER = "Idempotent-Replayed"
NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such ledger, or not the caller's to see")
}
IDEMPOTENCY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: documented_problem(
        "Too few points, or a request with this Idempotency-Key is still in progress"
    ),
    422: documented_problem(
        "The body is not valid, or the Idempotency-Key was used for a different body"
    ),
}


async def _ledger(session: DbSession) -> Ledger:
    return Ledger(session)


PointsSettings = Annotated[Settings, Depends(settings_dependency(Settings))]


async def _idempotent_requests(settings: PointsSettings, session: DbSession) -> IdempotentRequests:
    return IdempotentRequests(session, ttl_seconds=settings.idempotency_key_ttl_seconds)


async def _idempotency_key(
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
) -> str | None:
    return key.strip('"') if key else None


async def _own_account(caller: CurrentUser) -> str:
    return own_account(caller)


async def _any_account(
    caller: CurrentUser,
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=128)],
) -> str:
    return visible_account(caller, account_id, any_of=READ_AND_WRITE_ANY)


Ledgers = Annotated[Ledger, Depends(_ledger)]
Requests = Annotated[IdempotentRequests, Depends(_idempotent_requests)]
IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]
AccountResolver = Callable[..., Awaitable[str]]


async def _once(
    requests: IdempotentRequests,
    account_id: str,
    key: str | None,
    request: tuple[str, BaseModel],
    status_code: int,
    run: Callable[[], Awaitable[Any]],
) -> JSONResponse:
    """Run the operation, or replay what it answered the first time under this key."""

    async def answer() -> tuple[int, Any]:
        return status_code, jsonable_encoder(await run())

    if key is None:
        return JSONResponse(jsonable_encoder(await run()), status_code=status_code)
    operation, body = request
    outcome = await requests.once(
        account_id, key, (operation, body.model_dump(mode="json")), answer
    )
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


def ledger_routes(router: APIRouter, resolve_account: AccountResolver, *, who: str) -> None:
    """The ledger's operations on ``router``, on the account ``resolve_account`` names."""
    AccountId = Annotated[str, Depends(resolve_account)]  # noqa: N806 (a type alias)

    async def add(
        data: TransactionIn,
        account_id: AccountId,
        key: IdempotencyKey,
        ledger: Ledgers,
        requests: Requests,
    ) -> JSONResponse:
        async def run() -> TransactionOut:
            row = await ledger.add(account_id, data.payer, data.points, data.timestamp)
            return TransactionOut.model_validate(row)

        return await _once(requests, account_id, key, ("add", data), 201, run)

    add_docs: dict[str, Any] = {
        "status_code": 201,
        "response_model": TransactionOut,
        "responses": IDEMPOTENCY_PROBLEMS,
    }
    router.post(
        "/transactions",
        summary=f"Add a transaction to {who} (negative: take points back from the payer)",
        **add_docs,
    )(add)
    router.post(
        "/addTransaction",
        summary=f"Add a transaction to {who} (the original exercise's route)",
        **add_docs,
    )(add)

    @router.post(
        "/spend",
        summary=f"Spend points of {who}, oldest first; the points taken from each payer",
        response_model=list[PayerPoints],
        responses=IDEMPOTENCY_PROBLEMS,
    )
    async def spend(
        data: SpendIn,
        account_id: AccountId,
        key: IdempotencyKey,
        ledger: Ledgers,
        requests: Requests,
    ) -> JSONResponse:
        async def run() -> list[PayerPoints]:
            taken = await ledger.spend(account_id, data.points)
            return [PayerPoints.model_validate(part) for part in taken]

        return await _once(requests, account_id, key, ("spend", data), 200, run)

    @router.get("/balance", summary=f"Points left per payer in {who}, zero balances included")
    async def balance(account_id: AccountId, ledger: Ledgers) -> dict[str, int]:
        return await ledger.balance(account_id)

    @router.get("/transactions", summary=f"Transactions of {who}, newest timestamp first")
    async def transactions(
        query: Annotated[HistoryQuery, Query()], account_id: AccountId, ledger: Ledgers
    ) -> TransactionPage:
        rows, total = await ledger.transactions(account_id, limit=query.limit, offset=query.offset)
        return TransactionPage(
            items=[TransactionOut.model_validate(row) for row in rows],
            total=total,
            limit=query.limit,
            offset=query.offset,
        )

    @router.get("/spends", summary=f"Spends of {who}, newest first, with what each payer gave")
    async def spends(
        query: Annotated[HistoryQuery, Query()], account_id: AccountId, ledger: Ledgers
    ) -> SpendPage:
        rows, total = await ledger.spends(account_id, limit=query.limit, offset=query.offset)
        items = [
            SpendOut(
                id=row.id,
                points=row.points,
                created_at=row.created_at,
                breakdown=[
                    PayerPoints(payer=payer, points=-taken) for payer, taken in row.breakdown
                ],
            )
            for row in rows
        ]
        return SpendPage(items=items, total=total, limit=query.limit, offset=query.offset)


own_router = APIRouter(prefix="/points", tags=["points"])
ledger_routes(own_router, _own_account, who="the caller's ledger")

accounts_router = APIRouter(
    prefix="/points/accounts/{account_id}", tags=["points: any account"], responses=NOT_VISIBLE
)
ledger_routes(accounts_router, _any_account, who="any ledger (admin, service)")


@accounts_router.delete(
    "",
    status_code=204,
    summary="Delete a ledger with everything in it (its holder or an admin)",
)
async def delete_ledger(
    caller: CurrentUser,
    account_id: Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, max_length=128)],
    ledger: Ledgers,
) -> None:
    await ledger.delete(visible_account(caller, account_id, any_of=DELETE_ANY))


routers = [own_router, accounts_router]
