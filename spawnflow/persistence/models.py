"""spawnflow's own tables (Nova's names and shapes), as SQLAlchemy Core
tables: the repository functions (persistence.api) read and write them
with Core statements, so a command that only reads never imports the
ORM."""

import datetime

import sqlalchemy as sa

#: Dialect names of MySQL and MariaDB.
MYSQL = ('mysql', 'mariadb')


class _MySQLVariant(sa.types.TypeDecorator):
    """A type that is another on MySQL and MariaDB, whose dialect is
    imported there only (it costs a process that uses another database
    30 ms to import: what with_variant() would need). Each subclass says
    cache_ok itself: SQLAlchemy does not inherit it, and a statement with
    a type that does not is compiled anew every time."""

    def load_dialect_impl(self, dialect):
        if dialect.name in MYSQL:
            return self.on_mysql()
        return self.impl_instance


class LongText(_MySQLVariant):
    """Tracebacks and error texts: MySQL's TEXT stops at 64 KiB."""

    impl = sa.Text
    cache_ok = True

    def on_mysql(self):
        from sqlalchemy.dialects import mysql
        return mysql.MEDIUMTEXT()


class PreciseDateTime(_MySQLVariant):
    """Times a duration is computed from: MySQL's DATETIME keeps whole
    seconds."""

    impl = sa.DateTime
    cache_ok = True

    def on_mysql(self):
        from sqlalchemy.dialects import mysql
        return mysql.DATETIME(fsp=6)


metadata = sa.MetaData()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _id():
    return sa.Column('id', sa.Integer, primary_key=True)


def _required(name, type_, **kwargs):
    return sa.Column(name, type_, nullable=False, **kwargs)


def _optional(name, type_, **kwargs):
    return sa.Column(name, type_, nullable=True, **kwargs)


def _instance_uuid():
    return _required('instance_uuid', sa.ForeignKey('instances.uuid'),
                     index=True)


def _timestamps():
    return (_required('created_at', sa.DateTime, default=utcnow),
            _optional('updated_at', sa.DateTime, onupdate=utcnow))


instances = sa.Table(
    'instances', metadata,
    _id(),
    _required('uuid', sa.String(36), unique=True),
    _required('display_name', sa.String(255)),
    _required('vm_state', sa.String(255), index=True),
    _optional('task_state', sa.String(255)),
    _optional('host', sa.String(255), index=True),
    _optional('image_ref', sa.String(255)),
    _required('flavor_name', sa.String(255)),
    _required('vcpus', sa.Integer),
    _required('memory_mb', sa.Integer),
    _required('root_gb', sa.Integer),
    _optional('launched_at', sa.DateTime),
    _optional('deleted_at', sa.DateTime),
    _required('deleted', sa.Boolean, default=False, index=True),
    *_timestamps())

block_device_mappings = sa.Table(
    'block_device_mappings', metadata,
    _id(),
    _instance_uuid(),
    # Position in the request: with the instance uuid, it names the volume
    # this mapping makes, so a re-run finds it instead of making another.
    _required('bdm_index', sa.Integer),
    _required('source_type', sa.String(255)),
    _required('destination_type', sa.String(255)),
    # image, snapshot or volume id the mapping starts from.
    _optional('uuid', sa.String(255)),
    _optional('volume_id', sa.String(255)),
    _optional('volume_size', sa.Integer),
    _optional('boot_index', sa.Integer),
    _optional('device_name', sa.String(255)),
    _required('delete_on_termination', sa.Boolean, default=False),
    _optional('connection_info', sa.JSON),
    _optional('attachment_id', sa.String(36)),
    *_timestamps(),
    sa.UniqueConstraint('instance_uuid', 'bdm_index',
                        name='uniq_bdm0instance_uuid0bdm_index'))

instance_faults = sa.Table(
    'instance_faults', metadata,
    _id(),
    _required('created_at', sa.DateTime, default=utcnow),
    _instance_uuid(),
    _required('code', sa.Integer),
    _required('message', sa.String(255)),
    _optional('details', LongText),
    _optional('host', sa.String(255)))

instance_actions = sa.Table(
    'instance_actions', metadata,
    _id(),
    _required('action', sa.String(255)),
    _instance_uuid(),
    _required('request_id', sa.String(255)),
    _required('start_time', PreciseDateTime, default=utcnow),
    _optional('finish_time', PreciseDateTime),
    _optional('message', sa.String(255)))

instance_actions_events = sa.Table(
    'instance_actions_events', metadata,
    _id(),
    _required('action_id', sa.ForeignKey('instance_actions.id'), index=True),
    _required('event', sa.String(255)),
    _required('start_time', PreciseDateTime, default=utcnow),
    _optional('finish_time', PreciseDateTime),
    # Success, Error or Reverted.
    _optional('result', sa.String(255)),
    _optional('details', LongText),
    # The owner (process or conductor) that ran it.
    _optional('host', sa.String(255)))

#: What the user gave for the guest's config drive (user-data and
#: network-config, byte for byte), apart from the instance row so listings
#: never load it; removed when the instance is deleted.
instance_user_data = sa.Table(
    'instance_user_data', metadata,
    sa.Column('instance_uuid', sa.String(36), primary_key=True),
    _optional('user_data', sa.LargeBinary),
    _optional('network_config', sa.LargeBinary))

#: Who runs a flow (one row per flow detail), and the fencing token of
#: their claim: every write of an owner checks its token in the same
#: transaction, so once another owner has taken the flow over (a new
#: token), nothing of the old owner's lands.
flow_owners = sa.Table(
    'flow_owners', metadata,
    sa.Column('flow_uuid', sa.String(36), primary_key=True),
    _required('instance_uuid', sa.String(36), index=True),
    _required('action', sa.String(255)),
    # The host whose process started or last claimed it.
    _optional('host', sa.String(255)),
    _optional('owner', sa.String(255)),
    _optional('token', sa.String(36)),
    # The job board posting that may run it (others are stale copies).
    _optional('posting', sa.String(36)),
    _optional('claimed_at', sa.DateTime),
    # How many times an owner took it over from another.
    _required('takeovers', sa.Integer, default=0, server_default='0'))

#: One row per host: locked while a claim is checked and recorded.
compute_nodes = sa.Table(
    'compute_nodes', metadata,
    sa.Column('host', sa.String(255), primary_key=True),
    _optional('claims_updated_at', sa.DateTime))

#: One row: the tag ``db sync`` chose for this database. Volumes and
#: domains carry it, so orphan reaping never touches another deployment's
#: resources on a shared Cinder or hypervisor.
deployment = sa.Table(
    'deployment', metadata,
    _id(),
    _required('tag', sa.String(64)),
    _required('created_at', sa.DateTime, default=utcnow))
