"""The lean twin of customers: ``GET /auth/me``, the caller's customer record."""

from datetime import datetime

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from bench.lean import Claims, Pool, lean_app

CUSTOMER = (
    "SELECT customer_id, email, country, language, roles, created_at, updated_at "
    "FROM customers WHERE customer_id = $1"
)


class CustomerOut(BaseModel):
    customer_id: str
    email: str
    country: str | None
    language: str | None
    roles: list[str]
    created_at: datetime
    updated_at: datetime


def _routes(app: FastAPI) -> None:
    @app.get("/auth/me")
    async def me(claims: Claims, pool: Pool) -> CustomerOut:
        async with pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(CUSTOMER, claims["sub"])
        if row is None:
            raise HTTPException(404, "The token's subject is not a customer")
        return CustomerOut(**dict(row))


def create_app() -> FastAPI:
    return lean_app("customers", _routes)
