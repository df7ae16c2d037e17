"""field: offline client ids and self-report

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 08:13:45

Issue 20. A follow-up and a lead leg's verification carry the recording device's client id (unique), so the
offline queue may send them again without doubling anything. Each observation gets personal self-report
links (only the token's hash is kept) and the reports sent through them (the form's nonce is unique, so a
replay changes nothing); a follow-up records whether it was self-reported and when it was put first on the
list to be called.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('self_report_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('expires_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], name=op.f('fk_self_report_links_observation_id_observations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_self_report_links_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_report_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_self_report_links_token_hash'))
    )
    with op.batch_alter_table('self_report_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_report_links_observation_id'), ['observation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_self_report_links_person_id'), ['person_id'], unique=False)

    op.create_table('self_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('temperature_c', sa.Float(), nullable=False),
    sa.Column('symptoms', sa.String(length=255), server_default='', nullable=False),
    sa.Column('at_home', sa.Boolean(), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['self_report_links.id'], name=op.f('fk_self_reports_link_id_self_report_links')),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], name=op.f('fk_self_reports_observation_id_observations')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_self_reports_person_id_persons')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_self_reports_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_reports')),
    sa.UniqueConstraint('nonce', name=op.f('uq_self_reports_nonce'))
    )
    with op.batch_alter_table('self_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_reports_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_self_reports_link_id'), ['link_id'], unique=False)
        batch_op.create_index('ix_self_reports_observation_day', ['observation_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_self_reports_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('call_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_follow_ups_client_id'), ['client_id'])

    with op.batch_alter_table('lead_legs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_client_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_lead_legs_verify_client_id'), ['verify_client_id'])



def downgrade() -> None:
    with op.batch_alter_table('lead_legs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_lead_legs_verify_client_id'), type_='unique')
        batch_op.drop_column('verify_client_id')

    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_follow_ups_client_id'), type_='unique')
        batch_op.drop_column('call_at')
        batch_op.drop_column('source')
        batch_op.drop_column('client_id')

    with op.batch_alter_table('self_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_reports_person_id'))
        batch_op.drop_index('ix_self_reports_observation_day')
        batch_op.drop_index(batch_op.f('ix_self_reports_link_id'))
        batch_op.drop_index(batch_op.f('ix_self_reports_day'))

    op.drop_table('self_reports')
    with op.batch_alter_table('self_report_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_report_links_person_id'))
        batch_op.drop_index(batch_op.f('ix_self_report_links_observation_id'))

    op.drop_table('self_report_links')
