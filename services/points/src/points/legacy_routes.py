"""The original exercise's route, ``POST /addTransaction``: the endpoints of
``POST /transactions``, served again at the original's path."""

from fastapi import APIRouter

from points.routes import ADDS, ANY, NOT_VISIBLE, OWN, add_account_transaction, add_own_transaction

own_router = APIRouter(prefix="/points", tags=["points"])
own_router.add_api_route(
    "/addTransaction",
    add_own_transaction,
    methods=["POST"],
    name="add_own_transaction_original",
    summary=f"Add a transaction to {OWN} (the original exercise's route)",
    **ADDS,
)

accounts_router = APIRouter(
    prefix="/points/accounts/{account_id}", tags=["points: any account"], responses=NOT_VISIBLE
)
accounts_router.add_api_route(
    "/addTransaction",
    add_account_transaction,
    methods=["POST"],
    name="add_account_transaction_original",
    summary=f"Add a transaction to {ANY} (the original exercise's route)",
    **ADDS,
)
