"""Typed dependencies the feature routers share: settings, roles, the caller's organization."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends

from common.auth import Principal, require_roles
from common.dependencies import settings_dependency
from common.sql import DbTransaction
from matching.config import Settings
from matching.organizations.service import ActingOrganization, OrganizationService
from matching.probes.service import utc_now
from matching.ssn import SsnHasher

MatchingSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Provider = Annotated[Principal, Depends(require_roles("provider"))]
Asker = Annotated[Principal, Depends(require_roles("utility", "admin"))]
"""Who may ask for matches and reports."""


async def _organization_service(transaction: DbTransaction) -> OrganizationService:
    return OrganizationService(transaction)


Organizations = Annotated[OrganizationService, Depends(_organization_service)]


async def _providers_organization(
    caller: Provider, organizations: Organizations
) -> ActingOrganization:
    return await organizations.of_provider(caller)


ProvidersOrganization = Annotated[ActingOrganization, Depends(_providers_organization)]
"""The organization a provider acts for (403 with a message when none)."""


async def _ssn_hasher(settings: MatchingSettings) -> SsnHasher:
    return SsnHasher(settings.ssn_key_bytes())


Hasher = Annotated[SsnHasher, Depends(_ssn_hasher)]


async def clock() -> Callable[[], datetime]:
    """The time the probe guard counts by (tests override this dependency to move it)."""
    return utc_now


Clock = Annotated[Callable[[], datetime], Depends(clock)]
