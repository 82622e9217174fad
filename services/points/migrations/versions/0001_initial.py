"""initial: the points schema (its tables come with the service's domain work)

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing: common.migrations makes the schema before alembic writes its version table."""


def downgrade() -> None:
    """The schema stays: it holds the version table this downgrade is recorded in."""
