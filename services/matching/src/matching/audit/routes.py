"""GET /matching/audit: the audit log, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query

from common.schemas import Page, PageQuery
from matching.audit.dependencies import Audit
from matching.audit.schemas import AuditOut
from matching.dependencies import Admin

router = APIRouter(prefix="/matching/audit", tags=["audit"])


@router.get("", summary="Match and report requests, newest first (admin); no identifiers")
async def list_audit(
    query: Annotated[PageQuery, Query()],
    _: Admin,
    audit: Audit,
) -> Page[AuditOut]:
    items, total = await audit.page(limit=query.limit, offset=query.offset)
    return Page.of([AuditOut.model_validate(dict(item)) for item in items], total, query)
