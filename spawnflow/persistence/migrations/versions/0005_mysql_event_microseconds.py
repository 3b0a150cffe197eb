"""MySQL: action and event times with microseconds (its DATETIME keeps
whole seconds, which made every task's duration 0 or 1 s).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'mysql':
        return
    for table in ('instance_actions', 'instance_actions_events'):
        op.alter_column(table, 'start_time', existing_type=sa.DateTime(),
                        type_=mysql.DATETIME(fsp=6), existing_nullable=False)
        op.alter_column(table, 'finish_time', existing_type=sa.DateTime(),
                        type_=mysql.DATETIME(fsp=6), existing_nullable=True)
