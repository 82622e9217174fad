"""Request and response models of the organization endpoints."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from common.schemas import RequestBody, example

OrganizationName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Subject = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")]


class OrganizationCreate(RequestBody):
    model_config = example(name="Harbor Family Shelter")

    name: OrganizationName


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime


class MemberCreate(RequestBody):
    model_config = example(subject="c_8f14e45fceea167a")

    subject: Subject
    """The member's customer id (the ``sub`` of their tokens)."""


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    organization_id: int
    created_at: datetime
