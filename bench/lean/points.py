"""The lean twin of points: add a credit to any account, and an account's balance."""

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, Field

from bench.lean import Claims, Pool, lean_app

LOCK_ACCOUNT = (
    "INSERT INTO accounts (account_id) VALUES ($1) "
    "ON CONFLICT (account_id) DO UPDATE SET account_id = excluded.account_id WHERE false"
)
ADD_CREDIT = (
    "WITH payer AS ("
    "  INSERT INTO payers (account_id, name, balance) VALUES ($1, $2, $3)"
    "  ON CONFLICT ON CONSTRAINT payers_account_name_key"
    "  DO UPDATE SET balance = payers.balance + EXCLUDED.balance RETURNING id"
    ") "
    "INSERT INTO transactions (account_id, payer_id, points, timestamp, remaining) "
    "SELECT $1, payer.id, $3, $4, $3 FROM payer "
    "RETURNING id, CAST($2 AS text) AS payer, points, timestamp, created_at"
)
BALANCES = "SELECT name, balance FROM payers WHERE account_id = $1 ORDER BY id"
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._@-]+$", max_length=128)]


class TransactionIn(BaseModel):
    payer: str = Field(min_length=1, max_length=64)
    points: int = Field(gt=0, le=1_000_000_000)
    timestamp: datetime


class TransactionOut(BaseModel):
    id: int
    payer: str
    points: int
    timestamp: datetime
    created_at: datetime


def _allowed(claims: dict[str, object], account_id: str) -> None:
    roles = claims.get("roles")
    if claims.get("sub") != account_id and not (isinstance(roles, list) and "service" in roles):
        raise HTTPException(404, "No such ledger")


def _routes(app: FastAPI) -> None:
    @app.post("/points/accounts/{account_id}/transactions", status_code=201)
    async def add(
        account_id: AccountId, data: TransactionIn, claims: Claims, pool: Pool
    ) -> TransactionOut:
        _allowed(claims, account_id)
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(LOCK_ACCOUNT, account_id)
            row = await connection.fetchrow(
                ADD_CREDIT, account_id, data.payer, data.points, data.timestamp
            )
        return TransactionOut(**dict(row))

    @app.get("/points/accounts/{account_id}/balance")
    async def balance(account_id: AccountId, claims: Claims, pool: Pool) -> dict[str, int]:
        _allowed(claims, account_id)
        async with pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(BALANCES, account_id)
        return {row["name"]: row["balance"] for row in rows}


def create_app() -> FastAPI:
    return lean_app("points", _routes)
