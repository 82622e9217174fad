"""Organizations and their members: admins only, names and memberships unique."""

import asyncio

from .conftest import MatchingApi


async def test_an_admin_makes_an_organization_and_names_its_members(api: MatchingApi) -> None:
    organization_id = await api.organization("Shelter One", "provider-1", "provider-2")
    members = await api.client.get(
        f"/matching/organizations/{organization_id}/members", headers=api.admin
    )
    assert [member["subject"] for member in members.json()] == ["provider-1", "provider-2"]
    mine = await api.client.get("/matching/organizations/mine", headers=api.provider("provider-2"))
    assert mine.json()["name"] == "Shelter One"

    removed = await api.client.delete(
        f"/matching/organizations/{organization_id}/members/provider-2", headers=api.admin
    )
    assert removed.status_code == 204
    mine = await api.client.get("/matching/organizations/mine", headers=api.provider("provider-2"))
    assert mine.status_code == 403


async def test_names_and_memberships_are_unique_even_when_raced(api: MatchingApi) -> None:
    responses = await asyncio.gather(
        *(
            api.client.post("/matching/organizations", json={"name": "Twin"}, headers=api.admin)
            for _ in range(5)
        )
    )
    assert sorted(response.status_code for response in responses) == [201, 409, 409, 409, 409]
    other = await api.organization("Other")
    twin = next(r for r in responses if r.status_code == 201).json()["id"]
    added = await asyncio.gather(
        *(
            api.client.post(
                f"/matching/organizations/{organization}/members",
                json={"subject": "provider-1"},
                headers=api.admin,
            )
            for organization in (twin, other, twin)
        )
    )
    assert sorted(response.status_code for response in added) == [201, 409, 409]
    assert await api.count("organization_members") == 1
    assert await api.count("organizations") == 2


async def test_organizations_are_for_admins_and_unknown_ids_are_404(api: MatchingApi) -> None:
    for headers in (api.provider(), api.utility):
        response = await api.client.post(
            "/matching/organizations", json={"name": "Mine"}, headers=headers
        )
        assert response.status_code == 403
    missing = await api.client.post(
        "/matching/organizations/999/members", json={"subject": "x"}, headers=api.admin
    )
    assert missing.status_code == 404
    huge = await api.client.get(f"/matching/organizations/{2**70}/members", headers=api.admin)
    assert huge.status_code == 422
    assert await api.count("organizations") == 0
