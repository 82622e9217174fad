"""Rules of customer records: who sees whom, offered languages, creation, change and import."""

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from pydantic import ValidationError

from common.auth import Principal
from common.errors import NotFound, Unprocessable
from common.schemas import error_summary, field_error
from common.sql import Transaction
from customers.records.repository import CustomerFilter, CustomerRepository, CustomerRow
from customers.records.schemas import CustomerCreate, CustomerImportRow, CustomerQuery

READ_ANY = ("admin", "service")
CHANGE_ANY = ("admin",)


def require_offered_language(language: str | None, offered: Sequence[str]) -> None:
    """Unprocessable when ``language`` is a real code this platform does not offer."""
    if language is None or language in offered:
        return
    detail = f"Language {language!r} is not offered; choose one of: {', '.join(offered)}"
    raise field_error("language", detail, error_type="not_offered")


def new_customer_id() -> str:
    return str(uuid.uuid4())


class CustomerService:
    def __init__(self, transaction: Transaction, *, offered_languages: Sequence[str]) -> None:
        self.customers = CustomerRepository(transaction)
        self.offered_languages = offered_languages

    async def page(self, query: CustomerQuery) -> tuple[list[CustomerRow], int]:
        where = CustomerFilter(query.country, query.language, query.email_prefix or None)
        return await self.customers.page(where, limit=query.limit, offset=query.offset)

    async def create(self, data: CustomerCreate) -> CustomerRow:
        """A record without a password; a taken email or id is refused by the database."""
        require_offered_language(data.language, self.offered_languages)
        return await self.customers.insert(
            customer_id=data.customer_id or new_customer_id(),
            email=data.email,
            country=data.country,
            language=data.language,
        )

    async def visible(self, email: str, caller: Principal) -> CustomerRow:
        """The customer, when ``caller`` may read it; NotFound otherwise, as if absent."""
        return await self._addressed(email, caller, READ_ANY)

    async def update(self, email: str, changes: dict[str, Any], caller: Principal) -> CustomerRow:
        customer = await self._addressed(email, caller, CHANGE_ANY)
        require_offered_language(changes.get("language"), self.offered_languages)
        if changes:
            customer = await self.customers.update(customer.customer_id, **changes)
        return customer

    async def delete(self, email: str, caller: Principal) -> None:
        customer = await self._addressed(email, caller, CHANGE_ANY)
        await self.customers.delete(customer.customer_id)

    async def set_roles(self, email: str, roles: Sequence[str]) -> CustomerRow:
        customer = await self.customers.by_email(email.lower())
        if customer is None:
            raise NotFound("No customer has this email")
        return await self.customers.update(customer.customer_id, roles=sorted(set(roles)))

    async def _addressed(self, email: str, caller: Principal, any_of: Sequence[str]) -> CustomerRow:
        customer = await self.customers.by_email(email.lower())
        if customer is None or not (
            caller.has_any_role(*any_of) or caller.subject == customer.customer_id
        ):
            raise NotFound("No customer has this email")
        return customer


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str


@dataclass
class ImportReport:
    total: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


Progress = Callable[[int, int], None]
NumberedRow = tuple[int, CustomerImportRow]


class CustomerImport:
    """Upserts the rows of a customer export by customer_id; a second run changes nothing."""

    def __init__(self, service: CustomerService, *, batch_size: int = 500) -> None:
        self.service = service
        self.batch_size = batch_size

    async def run(self, rows: Sequence[object], progress: Progress | None = None) -> ImportReport:
        report = ImportReport(total=len(rows))
        valid = self._validated(rows, report)
        done = 0
        for batch in _batches(valid, self.batch_size):
            await self._upsert(batch, report)
            done += len(batch)
            if progress:
                progress(done, len(valid))
        report.rejected.sort(key=lambda rejected: rejected.row)
        return report

    def _validated(self, rows: Sequence[object], report: ImportReport) -> list[NumberedRow]:
        """Rows valid on their own and not repeating an earlier row's id or email (1-based)."""
        valid: list[NumberedRow] = []
        row_of_id: dict[str, int] = {}
        row_of_email: dict[str, int] = {}
        for number, raw in enumerate(rows, start=1):
            try:
                row = CustomerImportRow.model_validate(raw)
                require_offered_language(row.language, self.service.offered_languages)
            except ValidationError as exc:
                report.rejected.append(RejectedRow(number, error_summary(exc)))
                continue
            except Unprocessable as exc:
                report.rejected.append(RejectedRow(number, f"language: {exc.detail}"))
                continue
            repeated = row_of_id.get(row.customer_id) or row_of_email.get(row.email)
            if repeated:
                reason = f"repeats the customer_id or email of row {repeated}"
                report.rejected.append(RejectedRow(number, reason))
                continue
            row_of_id[row.customer_id] = row_of_email[row.email] = number
            valid.append((number, row))
        return valid

    async def _upsert(self, batch: list[NumberedRow], report: ImportReport) -> None:
        customers = self.service.customers
        owners = await customers.owners_of([row.email for _, row in batch])
        accepted = []
        for number, row in batch:
            owner = owners.get(row.email)
            if owner is not None and owner != row.customer_id:
                report.rejected.append(RejectedRow(number, f"email: belongs to customer {owner}"))
            else:
                accepted.append(row.model_dump())
        outcomes = await customers.upsert_many(accepted) if accepted else []
        created = sum(outcome.created for outcome in outcomes)
        report.created += created
        report.updated += len(outcomes) - created
        report.unchanged += len(accepted) - len(outcomes)


def _batches(rows: list[NumberedRow], size: int) -> Iterator[list[NumberedRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch
