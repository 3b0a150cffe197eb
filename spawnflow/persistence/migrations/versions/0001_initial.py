"""Initial schema: instances, block device mappings, faults, actions, nodes.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _timestamps():
    return [sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=True)]


def upgrade():
    op.create_table(
        'instances',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('display_name', sa.String(255), nullable=False),
        sa.Column('vm_state', sa.String(255), nullable=False, index=True),
        sa.Column('task_state', sa.String(255), nullable=True),
        sa.Column('host', sa.String(255), nullable=True, index=True),
        sa.Column('image_ref', sa.String(255), nullable=True),
        sa.Column('flavor_name', sa.String(255), nullable=False),
        sa.Column('vcpus', sa.Integer(), nullable=False),
        sa.Column('memory_mb', sa.Integer(), nullable=False),
        sa.Column('root_gb', sa.Integer(), nullable=False),
        sa.Column('launched_at', sa.DateTime(), nullable=True),
        sa.Column('deleted_at', sa.DateTime(), nullable=True),
        sa.Column('deleted', sa.Boolean(), nullable=False, index=True),
        *_timestamps())
    op.create_table(
        'block_device_mappings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid'), nullable=False,
                  index=True),
        sa.Column('bdm_index', sa.Integer(), nullable=False),
        sa.Column('source_type', sa.String(255), nullable=False),
        sa.Column('destination_type', sa.String(255), nullable=False),
        sa.Column('uuid', sa.String(255), nullable=True),
        sa.Column('volume_id', sa.String(255), nullable=True),
        sa.Column('volume_size', sa.Integer(), nullable=True),
        sa.Column('boot_index', sa.Integer(), nullable=True),
        sa.Column('device_name', sa.String(255), nullable=True),
        sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
        sa.Column('connection_info', sa.JSON(), nullable=True),
        sa.Column('attachment_id', sa.String(36), nullable=True),
        sa.UniqueConstraint('instance_uuid', 'bdm_index',
                            name='uniq_bdm0instance_uuid0bdm_index'),
        *_timestamps())
    op.create_table(
        'instance_faults',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid'), nullable=False,
                  index=True),
        sa.Column('code', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(255), nullable=False),
        sa.Column('details', sa.Text(), nullable=True),
        sa.Column('host', sa.String(255), nullable=True))
    op.create_table(
        'instance_actions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('action', sa.String(255), nullable=False),
        sa.Column('instance_uuid', sa.String(36),
                  sa.ForeignKey('instances.uuid'), nullable=False,
                  index=True),
        sa.Column('request_id', sa.String(255), nullable=False),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('message', sa.String(255), nullable=True))
    op.create_table(
        'instance_actions_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('action_id', sa.Integer(),
                  sa.ForeignKey('instance_actions.id'), nullable=False,
                  index=True),
        sa.Column('event', sa.String(255), nullable=False),
        sa.Column('start_time', sa.DateTime(), nullable=False),
        sa.Column('finish_time', sa.DateTime(), nullable=True),
        sa.Column('result', sa.String(255), nullable=True),
        sa.Column('details', sa.Text(), nullable=True))
    op.create_table(
        'compute_nodes',
        sa.Column('host', sa.String(255), primary_key=True),
        sa.Column('claims_updated_at', sa.DateTime(), nullable=True))
