"""The /matching/enrollments endpoints: a provider uploads, reads and deletes its own."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from common.docs import documented_body
from common.errors import UnsupportedMediaType
from common.problems import documented_problem
from common.schemas import Page
from matching.dependencies import MatchingSettings, ProvidersOrganization
from matching.enrollments.dependencies import Enrollments
from matching.enrollments.repository import StoredEnrollment
from matching.enrollments.schemas import (
    DeletedCount,
    EnrollmentOut,
    EnrollmentQuery,
    EnrollmentUpload,
    RejectedRow,
    RowWarning,
    UploadQuery,
    UploadReport,
)
from matching.enrollments.service import Upload
from matching.fields import HmisId
from matching.json_lists import read_json_lists
from matching.schemas import DestinationOut

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


def enrollment_out(enrollment: StoredEnrollment, organization: str) -> EnrollmentOut:
    return EnrollmentOut(
        organization=organization,
        client_id=enrollment.client_id,
        enrollment_id=enrollment.enrollment_id,
        first_name=enrollment.first_name,
        last_name=enrollment.last_name,
        dob=enrollment.dob,
        ssn_recorded=enrollment.ssn_recorded,
        name_data_quality=enrollment.name_data_quality,
        ssn_data_quality=enrollment.ssn_data_quality,
        dob_data_quality=enrollment.dob_data_quality,
        entry_date=enrollment.entry_date,
        exit_date=enrollment.exit_date,
        income_at_entry=enrollment.income_at_entry,
        income_at_exit=enrollment.income_at_exit,
        exit_destination=DestinationOut.of(enrollment.exit_destination),
        created_at=enrollment.created_at,
        updated_at=enrollment.updated_at,
    )


def upload_report(upload: Upload) -> UploadReport:
    return UploadReport(
        received=upload.received,
        created=upload.created,
        updated=upload.updated,
        unchanged=upload.unchanged,
        rejected=[RejectedRow(row=row.row, reason=row.reason) for row in upload.rejected],
        warnings=[
            RowWarning(row=left.row, field=left.field, message=left.message)
            for left in upload.warnings
        ],
    )


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
    return upload_report(await enrollments.upload_json(organization.id, rows, query.on_error))


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
    upload = await enrollments.upload_csv(organization.id, request.stream(), query.on_error)
    return upload_report(upload)


@router.get("/enrollments", summary="Your organization's enrollments (provider), no SSNs")
async def list_enrollments(
    query: Annotated[EnrollmentQuery, Query()],
    organization: ProvidersOrganization,
    enrollments: Enrollments,
) -> Page[EnrollmentOut]:
    rows, total = await enrollments.page(
        organization.id, query.client_id, limit=query.limit, offset=query.offset
    )
    return Page.of([enrollment_out(row, name) for row, name in rows], total, query)


@router.get(
    "/enrollments/{enrollment_id}",
    summary="One enrollment of your organization (provider)",
    responses={**NOT_YOURS, **NO_ORGANIZATION},
)
async def read_enrollment(
    enrollment_id: EnrollmentIdPath, organization: ProvidersOrganization, enrollments: Enrollments
) -> EnrollmentOut:
    enrollment = await enrollments.one(organization.id, enrollment_id)
    return enrollment_out(enrollment, organization.name)


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
