"""The user-data and network-config of each instance's config drive.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # LargeBinary is a BLOB on MySQL: 65,535 bytes, the most a request
    # may give of each (objects.MAX_USER_DATA_BYTES).
    op.create_table(
        'instance_user_data',
        sa.Column('instance_uuid', sa.String(36), primary_key=True),
        sa.Column('user_data', sa.LargeBinary(), nullable=True),
        sa.Column('network_config', sa.LargeBinary(), nullable=True))
