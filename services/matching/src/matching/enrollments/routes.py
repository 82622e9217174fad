"""The /matching/enrollments endpoints: a provider uploads, reads and deletes its own."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from common.database import DbSession
from common.docs import documented_body
from common.errors import UnsupportedMediaType
from common.problems import documented_problem
from common.schemas import Page
from matching.dependencies import Hasher, MatchingSettings, ProvidersOrganization
from matching.enrollments.schemas import (
    DeletedCount,
    EnrollmentOut,
    EnrollmentQuery,
    EnrollmentUpload,
    UploadQuery,
    UploadReport,
)
from matching.enrollments.service import EnrollmentService, UploadLimits
from matching.json_lists import read_json_lists
from matching.schemas import HmisId

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/matching", tags=["enrollments"])
NOT_YOURS: Responses = {404: documented_problem("Your organization has no such enrollment")}
NO_ORGANIZATION: Responses = {403: documented_problem("The provider belongs to no organization")}
UPLOAD_PROBLEMS: Responses = {
    **NO_ORGANIZATION,
    409: documented_problem("The upload would pass the organization's quota of stored rows"),
    413: documented_problem("The body is larger than the bulk limit"),
    422: documented_problem(
        "Rows cannot be stored (each named with its number and reason), or more rows than "
        "allowed per request"
    ),
}
EnrollmentIdPath = Annotated[HmisId, Path()]


async def _enrollment_service(
    session: DbSession, hasher: Hasher, settings: MatchingSettings
) -> EnrollmentService:
    limits = UploadLimits(
        batch_size=settings.upsert_batch_size,
        max_rows=settings.max_enrollments_per_request,
        max_stored=settings.max_enrollments_per_organization,
    )
    return EnrollmentService(session, hasher, limits)


Enrollments = Annotated[EnrollmentService, Depends(_enrollment_service)]


@router.post(
    "/enrollments",
    summary="Upload enrollments of your organization as JSON (provider); upsert by enrollment id",
    responses=UPLOAD_PROBLEMS,
    openapi_extra=documented_body(EnrollmentUpload),
)
async def upload_enrollments(
    request: Request,
    query: Annotated[UploadQuery, Query()],
    organization: ProvidersOrganization,
    enrollments: Enrollments,
    settings: MatchingSettings,
) -> UploadReport:
    limits = {"enrollments": settings.max_enrollments_per_request}
    rows = (await read_json_lists(request.stream(), limits))["enrollments"]
    return await enrollments.upload_json(organization.id, rows, query.on_error)


@router.post(
    "/enrollments/csv",
    summary="Upload enrollments as HMIS-style CSV (provider), streamed; upsert by EnrollmentID",
    description="Columns (header line, UTF-8): PersonalID, EnrollmentID, FirstName, LastName, "
    "DOB, SSN, NameDataQuality, SSNDataQuality, DOBDataQuality, EntryDate, ExitDate, "
    "IncomeAtEntry, IncomeAtExit, Destination. Row numbers in rejections are line numbers.",
    responses={**UPLOAD_PROBLEMS, 415: documented_problem("The body is not text/csv")},
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def upload_enrollments_csv(
    request: Request,
    query: Annotated[UploadQuery, Query()],
    organization: ProvidersOrganization,
    enrollments: Enrollments,
) -> UploadReport:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaType("Send the enrollments as text/csv")
    return await enrollments.upload_csv(organization.id, request.stream(), query.on_error)


@router.get("/enrollments", summary="Your organization's enrollments (provider), no SSNs")
async def list_enrollments(
    query: Annotated[EnrollmentQuery, Query()],
    organization: ProvidersOrganization,
    enrollments: Enrollments,
) -> Page[EnrollmentOut]:
    items, total = await enrollments.page(
        organization.id, query.client_id, limit=query.limit, offset=query.offset
    )
    return Page[EnrollmentOut](items=items, total=total, limit=query.limit, offset=query.offset)


@router.get(
    "/enrollments/{enrollment_id}",
    summary="One enrollment of your organization (provider)",
    responses={**NOT_YOURS, **NO_ORGANIZATION},
)
async def read_enrollment(
    enrollment_id: EnrollmentIdPath, organization: ProvidersOrganization, enrollments: Enrollments
) -> EnrollmentOut:
    return await enrollments.one(organization.id, organization.name, enrollment_id)


@router.delete(
    "/enrollments/{enrollment_id}",
    status_code=204,
    summary="Delete one enrollment of your organization for good (provider)",
    responses={**NOT_YOURS, **NO_ORGANIZATION},
)
async def delete_enrollment(
    enrollment_id: EnrollmentIdPath, organization: ProvidersOrganization, enrollments: Enrollments
) -> None:
    await enrollments.delete_enrollment(organization.id, enrollment_id)


@router.delete(
    "/clients/{client_id}",
    summary="Delete every enrollment of one client of your organization for good (provider)",
    responses={404: documented_problem("Your organization has no such client"), **NO_ORGANIZATION},
)
async def delete_client(
    client_id: Annotated[HmisId, Path()],
    organization: ProvidersOrganization,
    enrollments: Enrollments,
) -> DeletedCount:
    return DeletedCount(deleted=await enrollments.delete_client(organization.id, client_id))
