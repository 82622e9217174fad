"""The /customers endpoints: parse, authorize, call CustomerService, shape the response."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from common.problems import documented_problem
from common.schemas import Page
from customers.auth.dependencies import CurrentAccount, CurrentAdmin
from customers.records.dependencies import Customers
from customers.records.schemas import (
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerQuery,
    CustomerUpdate,
    RolesUpdate,
)

router = APIRouter(prefix="/customers", tags=["customers"])
NOT_VISIBLE: dict[int | str, dict[str, Any]] = {
    404: documented_problem("No such customer, or not the caller's to see")
}


@router.get("", summary="List customers (admin), ordered by email")
async def list_customers(
    query: Annotated[CustomerQuery, Query()], _: CurrentAdmin, customers: Customers
) -> CustomerPage:
    items, total = await customers.page(query)
    return Page.of([CustomerOut.model_validate(item) for item in items], total, query)


@router.post(
    "",
    status_code=201,
    summary="Create a customer record without a password (admin)",
    responses={409: documented_problem("The email or id is taken")},
)
async def create_customer(
    data: CustomerCreate, _: CurrentAdmin, customers: Customers
) -> CustomerOut:
    return CustomerOut.model_validate(await customers.create(data))


@router.get(
    "/{email}", summary="One customer (the customer, an admin or a service)", responses=NOT_VISIBLE
)
async def read_customer(email: str, caller: CurrentAccount, customers: Customers) -> CustomerOut:
    return CustomerOut.model_validate(await customers.visible(email, caller))


@router.patch(
    "/{email}",
    summary="Change country or language (the customer or an admin)",
    responses=NOT_VISIBLE,
)
async def update_customer(
    email: str, data: CustomerUpdate, caller: CurrentAccount, customers: Customers
) -> CustomerOut:
    changes = data.model_dump(exclude_unset=True)
    return CustomerOut.model_validate(await customers.update(email, changes, caller))


@router.delete(
    "/{email}",
    status_code=204,
    summary="Delete a customer with their credentials and tokens (the customer or an admin)",
    responses=NOT_VISIBLE,
)
async def delete_customer(email: str, caller: CurrentAccount, customers: Customers) -> None:
    await customers.delete(email, caller)


@router.put(
    "/{email}/roles",
    summary="Replace a customer's roles (admin); tokens show them from the next login or refresh",
    responses={404: documented_problem("No such customer")},
)
async def set_roles(
    email: str, data: RolesUpdate, _: CurrentAdmin, customers: Customers
) -> CustomerOut:
    return CustomerOut.model_validate(await customers.set_roles(email, data.roles))
