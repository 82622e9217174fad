"""The per-request objects the /customers routes ask for: the customer records service."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from customers.dependencies import CustomersSettings
from customers.records.service import CustomerService


async def _customer_service(session: DbSession, settings: CustomersSettings) -> CustomerService:
    return CustomerService(session, offered_languages=settings.allowed_languages)


Customers = Annotated[CustomerService, Depends(_customer_service)]
