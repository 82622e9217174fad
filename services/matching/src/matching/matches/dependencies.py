"""The per-request objects the /matching/matches routes ask for."""

from typing import Annotated

from fastapi import Depends, Request

from common.sql import DbTransaction
from matching.dependencies import Clock, MatchingSettings
from matching.matches.service import MatchingService, matching_service


async def _matching_service(
    request: Request, transaction: DbTransaction, settings: MatchingSettings, now: Clock
) -> MatchingService:
    """The request's: its probe guard screens in a unit of work of its own, committed at once."""
    committed = request.app.state.db.driver.transaction
    return matching_service(transaction, settings, now=now, committed=committed)


Matching = Annotated[MatchingService, Depends(_matching_service)]
