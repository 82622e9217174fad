"""The original exercise's route, ``POST /addTransaction``, kept beside ``POST /transactions``."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from points.dependencies import AnyAccount, IdempotencyKey, Ledgers, OwnAccount
from points.routes import ADDS, ANY, NOT_VISIBLE, OWN, add_transaction
from points.schemas import TransactionIn

own_router = APIRouter(prefix="/points", tags=["points"])
accounts_router = APIRouter(
    prefix="/points/accounts/{account_id}", tags=["points: any account"], responses=NOT_VISIBLE
)


@own_router.post(
    "/addTransaction",
    **ADDS,
    summary=f"Add a transaction to {OWN} (the original exercise's route)",
)
async def add_own_transaction_legacy(
    data: TransactionIn, account_id: OwnAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> JSONResponse:
    return await add_transaction(account_id, data, ledger, idempotency)


@accounts_router.post(
    "/addTransaction",
    **ADDS,
    summary=f"Add a transaction to {ANY} (the original exercise's route)",
)
async def add_account_transaction_legacy(
    data: TransactionIn, account_id: AnyAccount, ledger: Ledgers, idempotency: IdempotencyKey
) -> JSONResponse:
    return await add_transaction(account_id, data, ledger, idempotency)
