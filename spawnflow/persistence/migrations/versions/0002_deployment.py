"""The deployment: the tag that marks what this database's builds make.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import datetime
import uuid

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'deployment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tag', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False))
    op.bulk_insert(table, [{
        'id': 1, 'tag': str(uuid.uuid4()),
        'created_at': datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)}])
