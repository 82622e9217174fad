"""The /points endpoints: parse, authorize, call the Ledger, shape the response.

The ledger's operations are served twice: under ``/points`` on the caller's own ledger, and under
``/points/accounts/{account_id}`` on any ledger for admins and service tokens (and for the
holder itself); anyone else gets 404 there. Both endpoints of an operation call one function.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from common.problems import documented_problem
from common.schemas import Page
from points.dependencies import (
    AnyAccount,
    DeletableAccount,
    Idempotency,
    IdempotencyKey,
    Ledgers,
    OwnAccount,
)
from points.repository import SpendRow
from points.schemas import (
    Balances,
    HistoryQuery,
    PayerPoints,
    SpendIn,
    SpendOut,
    SpendPage,
    TransactionIn,
    TransactionOut,
    TransactionPage,
)
from points.service import Ledger

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
# What the two endpoints of an operation (own ledger, any ledger) declare alike.
ADDS: dict[str, Any] = {
    "status_code": 201,
    "response_model": TransactionOut,
    "responses": IDEMPOTENCY_PROBLEMS,
}
SPENDS: dict[str, Any] = {"response_model": list[PayerPoints], "responses": IDEMPOTENCY_PROBLEMS}
OWN = "the caller's ledger"
ANY = "any ledger (admin, service)"
History = Annotated[HistoryQuery, Query()]

own_router = APIRouter(prefix="/points", tags=["points"])
accounts_router = APIRouter(
    prefix="/points/accounts/{account_id}", tags=["points: any account"], responses=NOT_VISIBLE
)


async def add_transaction(
    account_id: str, data: TransactionIn, ledger: Ledger, idempotency: Idempotency
) -> Response:
    """Add the transaction, or replay the answer to an earlier request under the same key."""
    if replay := await idempotency.replay(account_id, "add", data):
        return replay
    row = await ledger.add(account_id, data.payer, data.points, data.timestamp)
    return await idempotency.answer(201, TransactionOut.model_validate(row))


async def spend_points(
    account_id: str, data: SpendIn, ledger: Ledger, idempotency: Idempotency
) -> Response:
    """Spend, or replay the answer to an earlier request under the same key."""
    if replay := await idempotency.replay(account_id, "spend", data):
        return replay
    taken = await ledger.spend(account_id, data.points)
    return await idempotency.answer(200, [PayerPoints.model_validate(part) for part in taken])


async def transaction_page(account_id: str, query: HistoryQuery, ledger: Ledger) -> TransactionPage:
    rows, total = await ledger.transactions(account_id, limit=query.limit, offset=query.offset)
    return Page.of([TransactionOut.model_validate(row) for row in rows], total, query)


def spend_out(row: SpendRow) -> SpendOut:
    breakdown = [PayerPoints(payer=payer, points=-taken) for payer, taken in row.breakdown]
    return SpendOut(id=row.id, points=row.points, created_at=row.created_at, breakdown=breakdown)


async def spend_page(account_id: str, query: HistoryQuery, ledger: Ledger) -> SpendPage:
    rows, total = await ledger.spends(account_id, limit=query.limit, offset=query.offset)
    return Page.of([spend_out(row) for row in rows], total, query)


@own_router.post(
    "/transactions",
    **ADDS,
    summary=f"Add a transaction to {OWN} (negative: take points back from the payer)",
)
async def add_own_transaction(
    data: TransactionIn, account_id: OwnAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> Response:
    return await add_transaction(account_id, data, ledger, idempotency)


@own_router.post(
    "/spend",
    **SPENDS,
    summary=f"Spend points of {OWN}, oldest first; the points taken from each payer",
)
async def spend_own_points(
    data: SpendIn, account_id: OwnAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> Response:
    return await spend_points(account_id, data, ledger, idempotency)


@own_router.get("/balance", summary=f"Points left per payer in {OWN}, zero balances included")
async def own_balance(account_id: OwnAccount, ledger: Ledgers) -> Balances:
    return Balances(await ledger.balance(account_id))


@own_router.get("/transactions", summary=f"Transactions of {OWN}, newest timestamp first")
async def own_transactions(
    query: History, account_id: OwnAccount, ledger: Ledgers
) -> TransactionPage:
    return await transaction_page(account_id, query, ledger)


@own_router.get("/spends", summary=f"Spends of {OWN}, newest first, with what each payer gave")
async def own_spends(query: History, account_id: OwnAccount, ledger: Ledgers) -> SpendPage:
    return await spend_page(account_id, query, ledger)


@accounts_router.post(
    "/transactions",
    **ADDS,
    summary=f"Add a transaction to {ANY} (negative: take points back from the payer)",
)
async def add_account_transaction(
    data: TransactionIn, account_id: AnyAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> Response:
    return await add_transaction(account_id, data, ledger, idempotency)


@accounts_router.post(
    "/spend",
    **SPENDS,
    summary=f"Spend points of {ANY}, oldest first; the points taken from each payer",
)
async def spend_account_points(
    data: SpendIn, account_id: AnyAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> Response:
    return await spend_points(account_id, data, ledger, idempotency)


@accounts_router.get("/balance", summary=f"Points left per payer in {ANY}, zero balances included")
async def account_balance(account_id: AnyAccount, ledger: Ledgers) -> Balances:
    return Balances(await ledger.balance(account_id))


@accounts_router.get("/transactions", summary=f"Transactions of {ANY}, newest timestamp first")
async def account_transactions(
    query: History, account_id: AnyAccount, ledger: Ledgers
) -> TransactionPage:
    return await transaction_page(account_id, query, ledger)


@accounts_router.get("/spends", summary=f"Spends of {ANY}, newest first, with what each payer gave")
async def account_spends(query: History, account_id: AnyAccount, ledger: Ledgers) -> SpendPage:
    return await spend_page(account_id, query, ledger)


@accounts_router.delete(
    "", status_code=204, summary="Delete a ledger with everything in it (its holder or an admin)"
)
async def delete_ledger(account_id: DeletableAccount, ledger: Ledgers) -> None:
    await ledger.delete(account_id)
