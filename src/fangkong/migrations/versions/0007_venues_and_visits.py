"""venues, visits, venue inspections

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'venues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('address', sa.String(length=255), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('token_issued_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_venues_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_venues')),
        sa.UniqueConstraint('token', name=op.f('uq_venues_token')),
    )
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venues_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.String(length=32), nullable=False),
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('phone', sa.String(length=11), nullable=False),
        sa.Column('checked_in_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('checked_out_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_visits_person_id_persons')),
        sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_visits_venue_id_venues')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
        sa.UniqueConstraint('client_id', name=op.f('uq_visits_client_id')),
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_checked_in_at'), ['checked_in_at'], unique=False)
        batch_op.create_index('ix_visits_venue_in', ['venue_id', 'checked_in_at'], unique=False)
        batch_op.create_index('ix_visits_unlinked', ['person_id', 'id'], unique=False)

    op.create_table(
        'venue_inspections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_venue_inspections_unit_id_units')),
        sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_venue_inspections_venue_id_venues')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_inspections')),
    )
    with op.batch_alter_table('venue_inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_inspections_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_venue_inspections_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_venue_inspections_venue_id'), ['venue_id'], unique=False)


def downgrade() -> None:
    op.drop_table('venue_inspections')
    op.drop_table('visits')
    op.drop_table('venues')
