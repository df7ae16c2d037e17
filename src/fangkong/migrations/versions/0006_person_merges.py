"""person matching keys, review pairs and merges

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fangkong.core.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('surname_key', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_persons_name_key_birth_date', ['name_key', 'birth_date'], unique=False)
        batch_op.create_index('ix_persons_birth_date_surname_key', ['birth_date', 'surname_key'], unique=False)
    _backfill_keys()
    op.create_table('person_match_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('left_id', sa.Integer(), nullable=False),
    sa.Column('right_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_match_pairs')),
    sa.UniqueConstraint('left_id', 'right_id', name='uq_person_match_pairs_pair')
    )
    with op.batch_alter_table('person_match_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_match_pairs_left_id'), ['left_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_match_pairs_right_id'), ['right_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_match_pairs_status'), ['status'], unique=False)
    op.create_table('person_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('pair_id', sa.Integer(), nullable=True),
    sa.Column('merged_row', sa.Text(), nullable=False),
    sa.Column('survivor_before', sa.Text(), nullable=False),
    sa.Column('moves', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('merged_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merged_by', sa.String(length=100), nullable=False),
    sa.Column('unmerged_at', fangkong.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unmerged_by', sa.String(length=100), nullable=True),
    sa.Column('unmerge_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_merges'))
    )
    with op.batch_alter_table('person_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_merges_merged_id'), ['merged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_merges_survivor_id'), ['survivor_id'], unique=False)


def _backfill_keys() -> None:
    """Compute the blocking keys of the files that exist already (in batches, by id)."""
    from fangkong.people.folding import name_key, surname_key

    conn = op.get_bind()
    persons = sa.table('persons', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('name_key', sa.String), sa.column('surname_key', sa.String))
    last = 0
    while True:
        rows = conn.execute(sa.select(persons.c.id, persons.c.name).where(persons.c.id > last)
                            .order_by(persons.c.id).limit(5000)).all()
        if not rows:
            return
        conn.execute(sa.update(persons).where(persons.c.id == sa.bindparam('pid'))
                     .values(name_key=sa.bindparam('nk'), surname_key=sa.bindparam('sk')),
                     [{'pid': pid, 'nk': name_key(name), 'sk': surname_key(name)} for pid, name in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('person_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_merges_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_person_merges_merged_id'))
    op.drop_table('person_merges')
    with op.batch_alter_table('person_match_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_match_pairs_status'))
        batch_op.drop_index(batch_op.f('ix_person_match_pairs_right_id'))
        batch_op.drop_index(batch_op.f('ix_person_match_pairs_left_id'))
    op.drop_table('person_match_pairs')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index('ix_persons_birth_date_surname_key')
        batch_op.drop_index('ix_persons_name_key_birth_date')
        batch_op.drop_column('surname_key')
        batch_op.drop_column('name_key')
