"""MySQL: fault and event details as MEDIUMTEXT (its TEXT stops at 64 KiB).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'mysql':
        return
    for table in ('instance_faults', 'instance_actions_events'):
        op.alter_column(table, 'details', existing_type=sa.Text(),
                        type_=mysql.MEDIUMTEXT(), existing_nullable=True)
