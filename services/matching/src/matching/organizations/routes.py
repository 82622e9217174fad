"""The /matching/organizations endpoints (admin), and a provider's own organization."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from common.problems import documented_problem
from common.schemas import Page, PageQuery
from matching.dependencies import Admin, Organizations, ProvidersOrganization
from matching.organizations.schemas import (
    MemberCreate,
    MemberOut,
    OrganizationCreate,
    OrganizationOut,
)

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(prefix="/matching/organizations", tags=["organizations"])
OrganizationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SubjectPath = Annotated[str, Path(min_length=1, max_length=128)]
NO_ORGANIZATION: Responses = {404: documented_problem("No organization has this id")}


@router.post(
    "",
    status_code=201,
    summary="Create an organization of providers (admin)",
    responses={409: documented_problem("The name is taken")},
)
async def create_organization(
    data: OrganizationCreate, _: Admin, organizations: Organizations
) -> OrganizationOut:
    return OrganizationOut.model_validate(await organizations.create(data.name))


@router.get("", summary="List organizations (admin), by name")
async def list_organizations(
    query: Annotated[PageQuery, Query()], _: Admin, organizations: Organizations
) -> Page[OrganizationOut]:
    items, total = await organizations.page(limit=query.limit, offset=query.offset)
    return Page.of([OrganizationOut.model_validate(item) for item in items], total, query)


@router.get(
    "/mine",
    summary="The organization the calling provider acts for",
    responses={403: documented_problem("The provider belongs to no organization")},
)
async def my_organization(
    organization: ProvidersOrganization, organizations: Organizations
) -> OrganizationOut:
    return OrganizationOut.model_validate(await organizations.existing(organization.id))


@router.post(
    "/{organization_id}/members",
    status_code=201,
    summary="Name a member (a customer id) who may act for the organization (admin)",
    responses={
        **NO_ORGANIZATION,
        409: documented_problem("The subject already acts for an organization"),
    },
)
async def add_member(
    organization_id: OrganizationId, data: MemberCreate, _: Admin, organizations: Organizations
) -> MemberOut:
    return MemberOut.model_validate(await organizations.add_member(organization_id, data.subject))


@router.get(
    "/{organization_id}/members",
    summary="The organization's members (admin)",
    responses=NO_ORGANIZATION,
)
async def list_members(
    organization_id: OrganizationId, _: Admin, organizations: Organizations
) -> list[MemberOut]:
    return [MemberOut.model_validate(m) for m in await organizations.members(organization_id)]


@router.delete(
    "/{organization_id}/members/{subject}",
    status_code=204,
    summary="Remove a member (admin)",
    responses={404: documented_problem("Not a member of this organization")},
)
async def remove_member(
    organization_id: OrganizationId, subject: SubjectPath, _: Admin, organizations: Organizations
) -> None:
    await organizations.remove_member(organization_id, subject)
