"""Request and response models of the points endpoints (table models are never returned)."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel
from pydantic_core import PydanticCustomError

from common.fields import JSON_INTEGER, Rfc3339, non_blank
from common.schemas import Page, PageQuery, RequestBody, example
from points.models import MAX_PAYER_LENGTH

MAX_POINTS = 1_000_000_000_000
EARLIEST_YEAR = 1970


def not_zero(points: int) -> int:
    if points == 0:
        raise PydanticCustomError("points_zero", "must not be 0")
    return points


Timestamp = Annotated[
    datetime,
    Rfc3339(earliest_year=EARLIEST_YEAR),
    Field(description="RFC 3339 with a time zone, e.g. 2020-11-02T14:00:00Z; 1970 to 9998"),
]
PayerName = Annotated[
    str,
    non_blank(MAX_PAYER_LENGTH),
    Field(description="Trimmed; 1 to 100 characters, no control characters"),
]
TransactionPoints = Annotated[
    int,
    Field(
        ge=-MAX_POINTS,
        le=MAX_POINTS,
        description="Not 0; negative takes points back",
        json_schema_extra={"not": {"const": 0}},
    ),
    JSON_INTEGER,
    AfterValidator(not_zero),
]
SpendPoints = Annotated[int, Field(ge=1, le=MAX_POINTS), JSON_INTEGER]


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
