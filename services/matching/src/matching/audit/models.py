"""One row per match or report request."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Identity, Integer, Text, func
from sqlmodel import Field

from matching.models import Table

AUDITED_ACTIONS = ("matches", "return_user_info", "outcome_report")


class AuditEntry(Table, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{action}'" for action in AUDITED_ACTIONS) + ")",
            name="audit_log_action_known",
        ),
        CheckConstraint(
            "people >= 0 AND matched >= 0 AND matched <= people", name="audit_log_counts"
        ),
        CheckConstraint(
            "probes_refused >= 0 AND probes_refused <= people", name="audit_log_probes_refused"
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    subject: str = Field(sa_column=Column(Text, nullable=False))
    roles: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    people: int = Field(sa_column=Column(Integer, nullable=False))
    matched: int = Field(sa_column=Column(Integer, nullable=False))
    complete_matches: int = Field(sa_column=Column(Integer, nullable=False))
    partial_matches: int = Field(sa_column=Column(Integer, nullable=False))
    probes_refused: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    """People refused as probes: asked with too many variants of their identifiers."""
