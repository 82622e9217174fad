"""The per-request objects the /matching/audit route asks for."""

from typing import Annotated

from fastapi import Depends

from common.sql import DbTransaction
from matching.audit.service import AuditService


async def _audit_service(transaction: DbTransaction) -> AuditService:
    return AuditService(transaction)


Audit = Annotated[AuditService, Depends(_audit_service)]
