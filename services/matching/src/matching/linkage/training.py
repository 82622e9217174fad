"""A background task that learns the model again once the enrollments changed (one process of
all the workers and replicas at a time); ``matching train-model`` does it at once."""

import logging
from contextlib import AbstractAsyncContextManager

from common.database import Database
from common.tasks import periodically
from matching.config import Settings
from matching.linkage.service import LinkageService

logger = logging.getLogger(__name__)


async def train_if_grown(database: Database) -> int | None:
    """The new model's version, or None when the enrollments did not change."""
    async with database.driver.transaction() as transaction:
        trained = await LinkageService(transaction).train_if_grown()
    if trained is None:
        return None
    logger.info("linkage model trained", extra={"model_version": trained.version})
    return trained.version


async def train(database: Database) -> int:
    """Learn a new model from the enrollments held now; its version."""
    async with database.driver.transaction() as transaction:
        return (await LinkageService(transaction).train()).version


def training(database: Database, settings: Settings) -> AbstractAsyncContextManager[None]:
    async def train_again() -> None:
        await train_if_grown(database)

    return periodically(
        settings.model_training_interval_seconds,
        train_again,
        name="model-training",
        exclusive=database,
    )
