"""export runs (list exports written in the background); lead flags (fields given but not valid)

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-04 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_runs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_runs')),
    sa.UniqueConstraint('token', name=op.f('uq_export_runs_token'))
    )
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_runs_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('flags')
    with op.batch_alter_table('export_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_runs_user_id'))
        batch_op.drop_index(batch_op.f('ix_export_runs_created_at'))
    op.drop_table('export_runs')
