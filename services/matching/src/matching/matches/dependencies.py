"""The per-request objects the /matching/matches routes ask for."""

from typing import Annotated

from fastapi import Depends

from common.sql import DbTransaction
from matching.dependencies import Clock, MatchingSettings
from matching.matches.service import MatchingService, matching_service


async def _matching_service(
    transaction: DbTransaction, settings: MatchingSettings, now: Clock
) -> MatchingService:
    return matching_service(transaction, settings, now=now)


Matching = Annotated[MatchingService, Depends(_matching_service)]
