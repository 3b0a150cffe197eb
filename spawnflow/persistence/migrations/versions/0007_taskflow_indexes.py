"""Indexes on TaskFlow's tables for the lookups spawnflow makes.

TaskFlow indexes its details by uuid only (MySQL's InnoDB also indexes
the foreign keys). Without an index on ``parent_uuid`` every read of a
logbook's flow details or a flow's atoms scans the table, and without one
on ``flowdetails.state`` so does finding the unfinished flows: costs that
grow with every build ever recorded.

``spawnflow db sync`` makes TaskFlow's tables before running this chain;
alembic's own command, run on a database without them, skips this
revision's indexes with a warning.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import logging

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOG = logging.getLogger('alembic.runtime.migration')

#: (index, table, column)
INDEXES = [
    ('spawnflow_flowdetails_parent_uuid_idx', 'flowdetails', 'parent_uuid'),
    ('spawnflow_flowdetails_state_idx', 'flowdetails', 'state'),
    ('spawnflow_atomdetails_parent_uuid_idx', 'atomdetails', 'parent_uuid'),
]


def _existing():
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    return {table: {index['name'] for index in inspector.get_indexes(table)}
            for table in ('flowdetails', 'atomdetails') if table in tables}


def upgrade():
    existing = _existing()
    for name, table, column in INDEXES:
        if table not in existing:
            LOG.warning('No %s table (TaskFlow\'s, which `spawnflow db sync` '
                        'makes first): index %s not made.', table, name)
        elif name not in existing[table]:
            op.create_index(name, table, [column])


def downgrade():
    existing = _existing()
    for name, table, _column in INDEXES:
        if name in existing.get(table, ()):
            op.drop_index(name, table_name=table)
