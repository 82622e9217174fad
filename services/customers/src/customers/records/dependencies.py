"""The per-request objects the /customers routes ask for: the customer records service."""

from typing import Annotated

from fastapi import Depends

from common.sql import DbTransaction
from customers.dependencies import CustomersSettings
from customers.records.service import CustomerService


async def _customer_service(
    transaction: DbTransaction, settings: CustomersSettings
) -> CustomerService:
    return CustomerService(transaction, offered_languages=settings.allowed_languages)


Customers = Annotated[CustomerService, Depends(_customer_service)]
