"""care teams and follow-ups; referrals from follow-ups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A referral now also comes from a follow-up: no passage, no checkpoint; `source` tells which.
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='checkpoint', nullable=False))
        batch_op.alter_column('passage_person_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('checkpoint_id', existing_type=sa.Integer(), nullable=True)

    op.create_table('care_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], name=op.f('fk_care_teams_observation_id_observations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_care_teams_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_teams')),
    sa.UniqueConstraint('observation_id', name=op.f('uq_care_teams_observation_id'))
    )
    with op.batch_alter_table('care_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_teams_person_id'), ['person_id'], unique=False)

    op.create_table('care_team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('team_role', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['care_teams.id'], name=op.f('fk_care_team_members_team_id_care_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_care_team_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_team_members')),
    sa.UniqueConstraint('team_id', 'team_role', name='uq_care_team_members_role')
    )
    with op.batch_alter_table('care_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_team_members_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('day_no', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('test_due', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('done_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=100), nullable=True),
    sa.Column('temperature_c', sa.Float(), nullable=True),
    sa.Column('symptoms', sa.String(length=255), server_default='', nullable=False),
    sa.Column('test_result', sa.String(length=12), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], name=op.f('fk_follow_ups_observation_id_observations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_follow_ups_person_id_persons')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_follow_ups_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    sa.UniqueConstraint('observation_id', 'day', name='uq_follow_ups_observation_day')
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_day_done', ['day', 'done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_person_id'))
        batch_op.drop_index('ix_follow_ups_day_done')
    op.drop_table('follow_ups')
    with op.batch_alter_table('care_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_team_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_care_team_members_team_id'))
    op.drop_table('care_team_members')
    with op.batch_alter_table('care_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_teams_person_id'))
    op.drop_table('care_teams')
    op.execute("DELETE FROM referrals WHERE source <> 'checkpoint'")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('checkpoint_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('passage_person_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('source')
