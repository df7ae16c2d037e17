"""trace report submissions (core facts, full report); dispatch runs of a case's contacts

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0019'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trace_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('core_reported_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('core_reported_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('full_reported_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('full_reported_by', sa.String(length=100), nullable=True))
    op.create_table('trace_dispatches',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('statuses_set', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('updated_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=True),
    sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['trace_cases.id'], name=op.f('fk_trace_dispatches_case_id_trace_cases'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trace_dispatches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trace_dispatches')),
    sa.UniqueConstraint('token', name=op.f('uq_trace_dispatches_token'))
    )
    with op.batch_alter_table('trace_dispatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trace_dispatches_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trace_dispatches_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trace_dispatches_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trace_dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trace_dispatches_user_id'))
        batch_op.drop_index(batch_op.f('ix_trace_dispatches_created_at'))
        batch_op.drop_index(batch_op.f('ix_trace_dispatches_case_id'))
    op.drop_table('trace_dispatches')
    with op.batch_alter_table('trace_cases', schema=None) as batch_op:
        batch_op.drop_column('full_reported_by')
        batch_op.drop_column('full_reported_at')
        batch_op.drop_column('core_reported_by')
        batch_op.drop_column('core_reported_at')
