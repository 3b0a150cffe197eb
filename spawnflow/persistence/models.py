"""SQLAlchemy 2 models for spawnflow's own tables (Nova's names and shapes)."""

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm

#: Tracebacks and error texts: MySQL's TEXT stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')
#: Times a duration is computed from: MySQL's DATETIME keeps whole seconds.
PreciseDateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Base(orm.DeclarativeBase):
    pass


class TimestampMixin:
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        default=utcnow)
    updated_at: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        onupdate=utcnow)


class Instance(TimestampMixin, Base):
    __tablename__ = 'instances'

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    uuid: orm.Mapped[str] = orm.mapped_column(sa.String(36), unique=True)
    display_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    vm_state: orm.Mapped[str] = orm.mapped_column(sa.String(255), index=True)
    task_state: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    host: orm.Mapped[str | None] = orm.mapped_column(sa.String(255),
                                                     index=True)
    image_ref: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    flavor_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    vcpus: orm.Mapped[int]
    memory_mb: orm.Mapped[int]
    root_gb: orm.Mapped[int]
    launched_at: orm.Mapped[datetime.datetime | None]
    deleted_at: orm.Mapped[datetime.datetime | None]
    deleted: orm.Mapped[bool] = orm.mapped_column(default=False, index=True)


class BlockDeviceMapping(TimestampMixin, Base):
    __tablename__ = 'block_device_mappings'
    __table_args__ = (
        sa.UniqueConstraint('instance_uuid', 'bdm_index',
                            name='uniq_bdm0instance_uuid0bdm_index'),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey('instances.uuid'), index=True)
    #: Position in the request: with the instance uuid, it names the
    #: volume this mapping makes, so a re-run finds it instead of making
    #: another.
    bdm_index: orm.Mapped[int]
    source_type: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    destination_type: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    #: image, snapshot or volume id the mapping starts from.
    uuid: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    volume_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    volume_size: orm.Mapped[int | None]
    boot_index: orm.Mapped[int | None]
    device_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    delete_on_termination: orm.Mapped[bool] = orm.mapped_column(
        default=False)
    connection_info: orm.Mapped[dict | None] = orm.mapped_column(sa.JSON)
    attachment_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(36))


class InstanceFault(Base):
    __tablename__ = 'instance_faults'

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        default=utcnow)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey('instances.uuid'), index=True)
    code: orm.Mapped[int]
    message: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    details: orm.Mapped[str | None] = orm.mapped_column(LongText)
    host: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))


class InstanceAction(Base):
    __tablename__ = 'instance_actions'

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    instance_uuid: orm.Mapped[str] = orm.mapped_column(
        sa.ForeignKey('instances.uuid'), index=True)
    request_id: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    start_time: orm.Mapped[datetime.datetime] = orm.mapped_column(
        PreciseDateTime, default=utcnow)
    finish_time: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        PreciseDateTime)
    message: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))


class InstanceActionEvent(Base):
    __tablename__ = 'instance_actions_events'

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    action_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey('instance_actions.id'), index=True)
    event: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    start_time: orm.Mapped[datetime.datetime] = orm.mapped_column(
        PreciseDateTime, default=utcnow)
    finish_time: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        PreciseDateTime)
    #: Success, Error or Reverted.
    result: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    details: orm.Mapped[str | None] = orm.mapped_column(LongText)
    #: The owner (process or conductor) that ran it.
    host: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))


class InstanceUserData(Base):
    """What the user gave for the guest's config drive (user-data and
    network-config, byte for byte), apart from the instance row so
    listings never load it; removed when the instance is deleted."""

    __tablename__ = 'instance_user_data'

    instance_uuid: orm.Mapped[str] = orm.mapped_column(sa.String(36),
                                                       primary_key=True)
    user_data: orm.Mapped[bytes | None] = orm.mapped_column(sa.LargeBinary)
    network_config: orm.Mapped[bytes | None] = orm.mapped_column(
        sa.LargeBinary)


class FlowOwner(Base):
    """Who runs a flow (one row per flow detail), and the fencing token of
    their claim: every write of an owner checks its token in the same
    transaction, so once another owner has taken the flow over (a new
    token), nothing of the old owner's lands."""

    __tablename__ = 'flow_owners'

    flow_uuid: orm.Mapped[str] = orm.mapped_column(sa.String(36),
                                                   primary_key=True)
    instance_uuid: orm.Mapped[str] = orm.mapped_column(sa.String(36),
                                                       index=True)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    #: The host whose process started or last claimed it.
    host: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    owner: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    token: orm.Mapped[str | None] = orm.mapped_column(sa.String(36))
    #: The job board posting that may run it (others are stale copies).
    posting: orm.Mapped[str | None] = orm.mapped_column(sa.String(36))
    claimed_at: orm.Mapped[datetime.datetime | None]
    #: How many times an owner took it over from another.
    takeovers: orm.Mapped[int] = orm.mapped_column(default=0,
                                                   server_default='0')


class ComputeNode(Base):
    """One row per host: locked while a claim is checked and recorded."""

    __tablename__ = 'compute_nodes'

    host: orm.Mapped[str] = orm.mapped_column(sa.String(255),
                                              primary_key=True)
    claims_updated_at: orm.Mapped[datetime.datetime | None]


class Deployment(Base):
    """One row: the tag ``db sync`` chose for this database. Volumes and
    domains carry it, so orphan reaping never touches another deployment's
    resources on a shared Cinder or hypervisor."""

    __tablename__ = 'deployment'

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    tag: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        default=utcnow)
