"""people, bookings and availability: participants, appointments (no overlap), schedules

Reviewed by hand after autogenerate. The two EXCLUDE constraints use only core PostgreSQL (gist
over int8range and tstzrange, no btree_gist): a person's id as a one-point int8range compared
with =, the half-open time range compared with &&, so back-to-back appointments are accepted.
Only occupying statuses (booked, arrived, fulfilled) take part; cancelled and no-show free the
time. gen_random_uuid() is core since PostgreSQL 13.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("roles", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("email = lower(email)", name="participants_email_normalized"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("subject"),
        schema="appointments",
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("verification_number", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.BigInteger(), nullable=False),
        sa.Column("doctor_id", sa.BigInteger(), nullable=False),
        sa.Column("booked_by_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="booked", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        postgresql.ExcludeConstraint(
            (sa.text("int8range(doctor_id, doctor_id, '[]')"), "="),
            (sa.text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
            using="gist",
            name="appointments_doctor_no_overlap",
        ),
        postgresql.ExcludeConstraint(
            (sa.text("int8range(patient_id, patient_id, '[]')"), "="),
            (sa.text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=sa.text("status IN ('booked', 'arrived', 'fulfilled')"),
            using="gist",
            name="appointments_patient_no_overlap",
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'arrived', 'fulfilled', 'cancelled', 'noshow')",
            name="appointments_status_known",
        ),
        sa.CheckConstraint(
            "verification_number ~ '^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$'",
            name="appointments_verification_number_format",
        ),
        sa.CheckConstraint(
            "char_length(reason) <= 500 AND char_length(cancellation_reason) <= 500",
            name="appointments_reasons_bounded",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="appointments_ends_after_start"),
        sa.CheckConstraint("patient_id <> doctor_id", name="appointments_patient_is_not_doctor"),
        sa.ForeignKeyConstraint(
            ["booked_by_id"],
            ["appointments.participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["appointments.participants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["appointments.participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("verification_number"),
        schema="appointments",
    )
    op.create_index(
        "ix_appointments_doctor_starts",
        "appointments",
        ["doctor_id", "starts_at"],
        unique=False,
        schema="appointments",
    )
    op.create_index(
        "ix_appointments_patient_starts",
        "appointments",
        ["patient_id", "starts_at"],
        unique=False,
        schema="appointments",
    )
    op.create_index(
        "ix_appointments_starts", "appointments", ["starts_at"], unique=False, schema="appointments"
    )
    op.create_table(
        "doctor_schedules",
        sa.Column("doctor_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["appointments.participants.id"],
        ),
        sa.PrimaryKeyConstraint("doctor_id"),
        schema="appointments",
    )
    op.create_table(
        "time_off",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("doctor_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("char_length(reason) <= 500", name="time_off_reason_bounded"),
        sa.CheckConstraint("ends_at > starts_at", name="time_off_ends_after_start"),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["appointments.participants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="appointments",
    )
    op.create_index(
        "ix_time_off_doctor_starts",
        "time_off",
        ["doctor_id", "starts_at"],
        unique=False,
        schema="appointments",
    )
    op.create_table(
        "working_hours",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("doctor_id", sa.BigInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint("start_time < end_time", name="working_hours_end_after_start"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="working_hours_weekday_range"),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["appointments.doctor_schedules.doctor_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="appointments",
    )
    op.create_index(
        "ix_working_hours_doctor",
        "working_hours",
        ["doctor_id", "weekday"],
        unique=False,
        schema="appointments",
    )


def downgrade() -> None:
    op.drop_index("ix_working_hours_doctor", table_name="working_hours", schema="appointments")
    op.drop_table("working_hours", schema="appointments")
    op.drop_index("ix_time_off_doctor_starts", table_name="time_off", schema="appointments")
    op.drop_table("time_off", schema="appointments")
    op.drop_table("doctor_schedules", schema="appointments")
    op.drop_index("ix_appointments_starts", table_name="appointments", schema="appointments")
    op.drop_index(
        "ix_appointments_patient_starts", table_name="appointments", schema="appointments"
    )
    op.drop_index("ix_appointments_doctor_starts", table_name="appointments", schema="appointments")
    op.drop_table("appointments", schema="appointments")
    op.drop_table("participants", schema="appointments")
