"""Flow owners (who runs each flow, and the fencing token of its claim);
which owner executed each action event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'flow_owners',
        sa.Column('flow_uuid', sa.String(36), primary_key=True),
        sa.Column('instance_uuid', sa.String(36), nullable=False,
                  index=True),
        sa.Column('action', sa.String(255), nullable=False),
        sa.Column('host', sa.String(255), nullable=True),
        sa.Column('owner', sa.String(255), nullable=True),
        sa.Column('token', sa.String(36), nullable=True),
        sa.Column('posting', sa.String(36), nullable=True),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('takeovers', sa.Integer(), nullable=False,
                  server_default='0'))
    op.add_column('instance_actions_events',
                  sa.Column('host', sa.String(255), nullable=True))
