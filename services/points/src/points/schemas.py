"""Request and response models of the points endpoints (table models are never returned)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictInt,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from common.schemas import Page, PageQuery, RequestBody, example
from points.models import MAX_PAYER_LENGTH

MAX_POINTS = 1_000_000_000_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def iso_timestamp(value: Any) -> datetime:
    """An ISO 8601 text with a time zone (``Z`` or an offset), between 1970 and 9999."""
    if not isinstance(value, str):
        raise PydanticCustomError("timestamp_type", "must be an ISO 8601 text with a time zone")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError("timestamp_format", "not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError(
            "timestamp_zone", "needs a time zone: Z or an offset such as +01:00"
        )
    if not EARLIEST <= parsed < LATEST:
        raise PydanticCustomError("timestamp_range", "must lie between 1970 and 9999")
    return parsed


def not_zero(points: int) -> int:
    if points == 0:
        raise PydanticCustomError("points_zero", "must not be 0")
    return points


Timestamp = Annotated[
    datetime,
    BeforeValidator(iso_timestamp),
    Field(description="ISO 8601 with a time zone, e.g. 2020-11-02T14:00:00Z"),
]
PayerName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=MAX_PAYER_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]+$",
    ),
    Field(description="Trimmed; 1 to 100 characters, no control characters"),
]
TransactionPoints = Annotated[
    StrictInt,
    Field(ge=-MAX_POINTS, le=MAX_POINTS, description="Not 0; negative takes points back"),
    AfterValidator(not_zero),
]
SpendPoints = Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)]


class TransactionIn(RequestBody):
    model_config = example(payer="DANNON", points=300, timestamp="2022-10-31T10:00:00Z")

    payer: PayerName
    points: TransactionPoints
    timestamp: Timestamp


class SpendIn(RequestBody):
    model_config = example(points=5000)

    points: SpendPoints


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payer: str
    points: int
    timestamp: datetime
    created_at: datetime = Field(description="When the ledger received it")


class PayerPoints(BaseModel):
    """Points one payer gave (negative: what a spend took from it)."""

    model_config = ConfigDict(from_attributes=True)

    payer: str
    points: int


class SpendOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    points: int
    created_at: datetime
    breakdown: list[PayerPoints] = Field(description="Per payer, in spending order")


class Balances(RootModel[dict[str, int]]):
    """Points left per payer, by payer name."""


class HistoryQuery(PageQuery):
    """Page of a history, newest first."""


TransactionPage = Page[TransactionOut]
SpendPage = Page[SpendOut]
