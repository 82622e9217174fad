"""Response model of the audit log."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    subject: str
    roles: str
    action: str
    people: int
    matched: int
    complete_matches: int
    partial_matches: int
    probes_refused: int = Field(description="People refused: asked with too many variants")
