"""GET /matching/audit: the audit log, for admins."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from common.database import DbSession
from common.schemas import Page, PageQuery
from matching.audit.schemas import AuditOut
from matching.audit.service import AuditService
from matching.dependencies import Admin

router = APIRouter(prefix="/matching/audit", tags=["audit"])


async def _audit_service(session: DbSession) -> AuditService:
    return AuditService(session)


@router.get("", summary="Match and report requests, newest first (admin); no identifiers")
async def list_audit(
    query: Annotated[PageQuery, Query()],
    _: Admin,
    audit: Annotated[AuditService, Depends(_audit_service)],
) -> Page[AuditOut]:
    items, total = await audit.page(limit=query.limit, offset=query.offset)
    return Page[AuditOut](
        items=[AuditOut.model_validate(item) for item in items],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )
