"""The per-request objects the /matching/audit route asks for."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.audit.service import AuditService


async def _audit_service(session: DbSession) -> AuditService:
    return AuditService(session)


Audit = Annotated[AuditService, Depends(_audit_service)]
