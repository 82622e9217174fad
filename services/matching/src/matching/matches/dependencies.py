"""The per-request objects the /matching/matches routes ask for."""

from typing import Annotated

from fastapi import Depends

from common.database import DbSession
from matching.dependencies import Clock, MatchingSettings
from matching.matches.service import MatchingService, matching_service


async def _matching_service(
    session: DbSession, settings: MatchingSettings, now: Clock
) -> MatchingService:
    return matching_service(session, settings, now=now)


Matching = Annotated[MatchingService, Depends(_matching_service)]
