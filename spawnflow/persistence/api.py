"""Repository functions over spawnflow's tables.

Every function runs in its own short transaction, in SQLAlchemy Core
statements, and returns plain dicts, so nothing that leaves this module
holds a connection or a row. Database
errors leave as SpawnflowErrors (persistence.errors); a function that meets
a transient one (a busy database, a lost connection) runs again, as the
retry policy allows: each is a unit that is safe to repeat.
"""

import contextlib
import copy
import functools
import os
import sqlite3
import urllib.parse
import uuid as uuidlib

import sqlalchemy as sa

from spawnflow import exception
from spawnflow import instance_states as states
from spawnflow.persistence import errors
from spawnflow.persistence import models
from spawnflow import retry

_ANY = object()
#: What [database] sqlite_synchronous may be (SQLite's PRAGMA values).
SQLITE_SYNCHRONOUS = ('NORMAL', 'FULL')
#: Seconds a PostgreSQL or MySQL server has to accept a connection.
CONNECT_TIMEOUT = 10


def create_engine(url, busy_timeout=30, idle_transaction_timeout=10,
                  read_only=False, sqlite_synchronous='NORMAL'):
    """Create the engine every spawnflow component in a process shares.

    SQLite files run in WAL mode, with ``sqlite_synchronous`` (see
    [database] sqlite_synchronous), and every transaction that may write
    starts with BEGIN IMMEDIATE: it waits (up to the busy timeout) for the
    write lock up front. A deferred transaction that reads and then writes
    would instead fail at once with "database is locked" when another
    thread or process wrote in between, which the parallel engine's threads
    make likely. Transactions that only read (on a connection whose
    execution options set READING) begin deferred: in WAL mode they wait
    for no writer, nor a writer for them.

    PostgreSQL and MariaDB end a session left idle in a transaction for
    ``idle_transaction_timeout`` seconds, so that a stopped process does
    not hold its row locks (a flow's owner row, a host's claims) forever.

    A ``read_only`` engine (the inspection views, the dashboard) has the
    database refuse every write of its sessions, and on SQLite its
    transactions start deferred: reading takes no write lock, and a
    missing file is an error rather than a new database.
    """
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError('sqlite_synchronous must be one of %s, not %r'
                         % (', '.join(SQLITE_SYNCHRONOUS), sqlite_synchronous))
    sa_url = sa.engine.make_url(url)
    backend = sa_url.get_backend_name()
    if backend != 'sqlite':
        # A server that does not answer fails the connection (and its
        # retries) instead of hanging it.
        connect_args = {'connect_timeout': CONNECT_TIMEOUT}
        if backend == 'postgresql':
            connect_args['options'] = (
                '-c idle_in_transaction_session_timeout=%d'
                % (idle_transaction_timeout * 1000)
                + (' -c default_transaction_read_only=on' if read_only
                   else ''))
        # No pre-ping (a round trip before every transaction): a pooled
        # connection the server dropped (a restart, an idle timeout) fails
        # its transaction as a lost connection, on which SQLAlchemy empties
        # the pool, and every transaction is retried (db_max_retries).
        engine = sa.create_engine(url, connect_args=connect_args)
        if backend == 'mysql':
            @sa.event.listens_for(engine, 'connect')
            def _set_session(dbapi_conn, _record):
                cursor = dbapi_conn.cursor()
                cursor.execute('SELECT VERSION()')
                if 'mariadb' in cursor.fetchone()[0].lower():
                    cursor.execute('SET SESSION idle_transaction_timeout = %d'
                                   % idle_transaction_timeout)
                if read_only:
                    cursor.execute('SET SESSION TRANSACTION READ ONLY')
                cursor.close()
        return engine
    if read_only:
        return _sqlite_read_only_engine(sa_url, busy_timeout)
    if sa_url.database and sa_url.database != ':memory:':
        os.makedirs(os.path.dirname(os.path.abspath(sa_url.database)),
                    exist_ok=True)
    engine = sa.create_engine(url, connect_args={'timeout': busy_timeout})

    @sa.event.listens_for(engine, 'connect')
    def _set_sqlite_pragmas(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute('PRAGMA synchronous=%s' % sqlite_synchronous)
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.close()

    @sa.event.listens_for(engine, 'begin')
    def _begin_immediate(conn):
        conn.exec_driver_sql('BEGIN' if conn.get_execution_options().get(
            READING) else 'BEGIN IMMEDIATE')

    return engine


#: The execution option of transactions that only read.
READING = 'spawnflow_reading'


def _sqlite_read_only_engine(sa_url, busy_timeout):
    """An SQLite engine whose connections refuse writes (query_only) and
    open an existing file only (mode=ro: never a new, empty one)."""
    database = sa_url.database
    if not database or database == ':memory:':
        raise exception.SpawnflowError(
            'A read-only view needs a database file, not %s.' % database)
    if not os.path.isfile(database):
        raise exception.SpawnflowError(
            'No database at %s: run `spawnflow db sync` first.' % database)
    # The file opened as an SQLite URI; the engine's URL, which messages
    # show, stays the one configured.
    uri = 'file:%s?mode=ro' % urllib.parse.quote(os.path.abspath(database))
    engine = sa.create_engine(sa_url, creator=lambda: sqlite3.connect(
        uri, uri=True, timeout=busy_timeout, check_same_thread=False))

    @sa.event.listens_for(engine, 'connect')
    def _set_query_only(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        cursor.execute('PRAGMA query_only=ON')
        cursor.close()

    return engine


def _guarded(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return errors.guarded(self.retry, self.engine.url, method.__name__,
                              method, self, *args, **kwargs)
    return wrapper


#: Values in one IN list: well under the bound parameters every database
#: takes in one statement (SQLite's is 32766, its oldest builds' 999).
IN_CHUNK = 500


def _chunks(values, size=IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _first(conn, query):
    """The first row ``query`` selects, as a dict, or None."""
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def _all(conn, query):
    return [dict(row) for row in conn.execute(query).mappings()]


_INSTANCE = models.instances
_BDM = models.block_device_mappings
_FAULT = models.instance_faults
_ACTION = models.instance_actions
_EVENT = models.instance_actions_events
_USER_DATA = models.instance_user_data
_OWNER = models.flow_owners
_NODE = models.compute_nodes


class _NoComputeNode(Exception):
    """The host has no compute_nodes row yet."""


class Database:
    """spawnflow's tables on one SQLAlchemy engine."""

    def __init__(self, engine, retry_policy=None):
        self.engine = engine
        self.retry = retry_policy or retry.Policy(0, 0, 0)
        self._reader = engine.execution_options(**{READING: True})
        self._fence = None

    @classmethod
    def from_conf(cls, conf, read_only=False):
        """The database ``[database]`` names, retried as it says (see
        create_engine for ``read_only``)."""
        options = conf.database
        return cls(create_engine(options.connection,
                                 options.sqlite_busy_timeout,
                                 options.idle_transaction_timeout,
                                 read_only=read_only,
                                 sqlite_synchronous=(
                                     options.sqlite_synchronous)),
                   retry.Policy(options.db_max_retries,
                                options.db_retry_interval,
                                options.db_max_retry_interval))

    def fenced(self, fence):
        """This database as one flow's owner uses it: every transaction
        first checks ``fence`` (ownership.Fence) and raises ClaimLost
        once another owner took the flow over."""
        fenced = copy.copy(self)
        fenced._fence = fence
        return fenced

    @_guarded
    def check_claim(self):
        """Raise ClaimLost once another owner took this copy's flow over
        (a no-op unfenced). Reads check no fence: a task calls this just
        before an external call that an owner that lost the flow must
        not make. It only reads (SQLite's write lock is not taken)."""
        if self._fence is not None:
            with self._reading() as conn:
                self._fence.check(conn)

    @contextlib.contextmanager
    def _transaction(self):
        with self.engine.begin() as conn:
            if self._fence is not None:
                self._fence.check(conn)
            yield conn

    @contextlib.contextmanager
    def _reading(self):
        """A transaction that only reads: it takes no write lock (SQLite
        begins it deferred) and checks no fence (what a lost owner reads
        changes nothing; its next write is refused)."""
        with self._reader.begin() as conn:
            yield conn

    # Instances ----------------------------------------------------------

    @_guarded
    def instance_create(self, uuid, request, vm_state, task_state):
        """Record an instance and its block device mappings together.

        Idempotent: a retry after a commit whose answer was lost finds the
        instance recorded and returns it.
        """
        with self._transaction() as conn:
            recorded = _first(conn, sa.select(_INSTANCE).filter_by(
                uuid=uuid))
            if recorded is not None:
                return recorded
            conn.execute(sa.insert(_INSTANCE).values(
                uuid=uuid, display_name=request.name, vm_state=vm_state,
                task_state=task_state, image_ref=request.image_ref,
                flavor_name=request.flavor.name,
                vcpus=request.flavor.vcpus,
                memory_mb=request.flavor.memory_mb,
                root_gb=request.flavor.root_gb))
            bdms = [dict(instance_uuid=uuid, bdm_index=index,
                         source_type=bdm.source_type,
                         destination_type=bdm.destination_type,
                         uuid=bdm.uuid, volume_size=bdm.volume_size,
                         boot_index=bdm.boot_index,
                         device_name=bdm.device_name,
                         delete_on_termination=bdm.delete_on_termination,
                         volume_id=(bdm.uuid if bdm.source_type == 'volume'
                                    else None))
                    for index, bdm in enumerate(
                        request.block_device_mappings)]
            if bdms:
                conn.execute(sa.insert(_BDM), bdms)
            if request.user_data or request.network_config:
                conn.execute(sa.insert(_USER_DATA).values(
                    instance_uuid=uuid, user_data=request.user_data,
                    network_config=request.network_config))
        return self.instance_get(uuid)

    @_guarded
    def user_data_get(self, uuid):
        """(user_data, network_config) of the instance, each bytes or
        None."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(_USER_DATA.c.user_data, _USER_DATA.c.network_config)
                .filter_by(instance_uuid=uuid)).first()
            return (None, None) if row is None else tuple(row)

    @_guarded
    def instance_get(self, uuid, read_deleted=False):
        with self._reading() as conn:
            query = sa.select(_INSTANCE).filter_by(uuid=uuid)
            if not read_deleted:
                query = query.filter_by(deleted=False)
            row = _first(conn, query)
            if row is None:
                raise exception.InstanceNotFound(uuid)
            return row

    @_guarded
    def instance_get_many(self, uuids):
        """{uuid: instance} of those of ``uuids`` recorded, deleted ones
        included (one query per IN_CHUNK uuids)."""
        found = {}
        with self._reading() as conn:
            for chunk in _chunks(sorted(set(uuids))):
                for row in _all(conn, sa.select(_INSTANCE).where(
                        _INSTANCE.c.uuid.in_(chunk))):
                    found[row['uuid']] = row
        return found

    def instance_show(self, uuid, read_deleted=False):
        """The instance with its block devices and its latest fault."""
        instance = self.instance_get(uuid, read_deleted=read_deleted)
        instance['block_devices'] = self.bdm_list(uuid)
        instance['fault'] = self.fault_get_latest(uuid)
        return instance

    @_guarded
    def instance_list(self, read_deleted=False, vm_state=None):
        with self._reading() as conn:
            query = sa.select(_INSTANCE).order_by(_INSTANCE.c.id)
            if not read_deleted:
                query = query.filter_by(deleted=False)
            if vm_state is not None:
                query = query.filter_by(vm_state=vm_state)
            return _all(conn, query)

    @_guarded
    def instance_update(self, uuid, values, expected_task_state=_ANY):
        """Save ``values``; a compare-and-swap when a task state is expected.

        ``expected_task_state`` is one state or a tuple of states. The update
        is a single ``UPDATE ... WHERE task_state IN (...)``, so a concurrent
        change (a delete setting ``deleting``) makes it match nothing and
        raises UnexpectedTaskStateError instead of being overwritten.
        """
        values = dict(values, updated_at=models.utcnow())
        query = (sa.update(_INSTANCE)
                 .where(_INSTANCE.c.uuid == uuid,
                        _INSTANCE.c.deleted.is_(False)))
        expected = None
        if expected_task_state is not _ANY:
            expected = (expected_task_state
                        if isinstance(expected_task_state, (tuple, list))
                        else (expected_task_state,))
            condition = _INSTANCE.c.task_state.in_(
                [s for s in expected if s is not None])
            if None in expected:
                condition = sa.or_(condition,
                                   _INSTANCE.c.task_state.is_(None))
            query = query.where(condition)
        with self._transaction() as conn:
            matched = conn.execute(query.values(**values)).rowcount
            # Read back in the same transaction (not a second one).
            current = _first(conn, sa.select(_INSTANCE).filter_by(
                uuid=uuid, deleted=False))
        if current is None:
            raise exception.InstanceNotFound(uuid)
        if not matched:
            raise exception.UnexpectedTaskStateError(
                uuid, expected, current['task_state'])
        return current

    @_guarded
    def instance_soft_delete(self, uuid):
        with self._transaction() as conn:
            conn.execute(
                sa.update(_INSTANCE)
                .where(_INSTANCE.c.uuid == uuid)
                .values(deleted=True, deleted_at=models.utcnow(),
                        vm_state=states.DELETED, task_state=None, host=None))
            # What the user gave the guest is not kept past its life.
            conn.execute(sa.delete(_USER_DATA).where(
                _USER_DATA.c.instance_uuid == uuid))

    # Resource claims ------------------------------------------------------

    @_guarded
    def instance_claim(self, uuid, host, capacity):
        """Claim the instance's flavor on ``host`` if it fits ``capacity``.

        ``capacity`` maps vcpus, memory_mb and local_gb to what the host can
        give. The host's compute_nodes row is written first, which serialises
        concurrent claims on SQLite and PostgreSQL alike (the host's first
        claim makes the row first, in a transaction of its own). Claiming
        twice is a no-op.
        """
        try:
            self._claim(uuid, host, capacity)
        except _NoComputeNode:
            self._ensure_compute_node(host)
            self._claim(uuid, host, capacity)

    def _claim(self, uuid, host, capacity):
        with self._transaction() as conn:
            if not conn.execute(sa.update(_NODE).where(_NODE.c.host == host)
                                .values(claims_updated_at=models.utcnow())
                                ).rowcount:
                raise _NoComputeNode()
            instance = _first(conn, sa.select(_INSTANCE.c.id,
                                              _INSTANCE.c.host)
                              .filter_by(uuid=uuid, deleted=False))
            if instance is None:
                raise exception.InstanceNotFound(uuid)
            if instance['host'] == host:
                return
            requested = self._held(conn, _INSTANCE.c.id == instance['id'])
            used = self._held(conn, _INSTANCE.c.host == host,
                              _INSTANCE.c.deleted == sa.false())
            for resource, amount in requested.items():
                free = capacity[resource] - used[resource]
                if amount > free:
                    raise exception.ClaimFailed(
                        'Host %s cannot fit %s %s: %s of %s are free.'
                        % (host, amount, resource, max(free, 0),
                           capacity[resource]))
            conn.execute(sa.update(_INSTANCE)
                         .where(_INSTANCE.c.id == instance['id'])
                         .values(host=host))

    @_guarded
    def instance_release(self, uuid):
        """Give back the instance's claim (no-op when it holds none)."""
        with self._transaction() as conn:
            conn.execute(sa.update(_INSTANCE)
                         .where(_INSTANCE.c.uuid == uuid)
                         .values(host=None))

    def _ensure_compute_node(self, host):
        try:
            with self._transaction() as conn:
                if conn.execute(sa.select(_NODE.c.host).filter_by(
                        host=host)).first() is None:
                    conn.execute(sa.insert(_NODE).values(host=host))
        except sa.exc.IntegrityError:
            pass  # created concurrently by another claim

    @staticmethod
    def _held(conn, *where):
        """vcpus, memory_mb and local_gb the instances ``where`` selects
        hold together, in one query: local_gb is the root disk of those
        with a local one (not booted from a volume)."""
        instance, bdm = _INSTANCE.c, _BDM.c
        local_disk = sa.exists().where(bdm.instance_uuid == instance.uuid,
                                       bdm.destination_type == 'local')
        total = conn.execute(sa.select(
            sa.func.coalesce(sa.func.sum(instance.vcpus), 0),
            sa.func.coalesce(sa.func.sum(instance.memory_mb), 0),
            sa.func.coalesce(sa.func.sum(sa.case(
                (local_disk, instance.root_gb), else_=0)), 0),
        ).where(*where)).one()
        return dict(zip(('vcpus', 'memory_mb', 'local_gb'),
                        (int(amount) for amount in total)))

    @_guarded
    def image_users(self, image_ids):
        """{image id: live instances using it} for those of ``image_ids``
        that live instances use, as an instance's image_ref or an image
        block device's uuid. One query, over live instances only (the
        index on ``deleted``): each (instance, image) pair counted once."""
        if not image_ids:
            return {}
        instance, bdm = _INSTANCE.c, _BDM.c
        users = {}
        with self._reading() as conn:
            # Each chunk is bound twice, once in each arm of the union.
            for chunk in _chunks(sorted(image_ids), IN_CHUNK // 2):
                pairs = sa.union(
                    sa.select(instance.uuid,
                              instance.image_ref.label('image_id'))
                    .where(instance.deleted == sa.false(),
                           instance.image_ref.in_(chunk)),
                    sa.select(instance.uuid, bdm.uuid.label('image_id'))
                    .join(_BDM, bdm.instance_uuid == instance.uuid)
                    .where(instance.deleted == sa.false(),
                           bdm.source_type == 'image', bdm.uuid.in_(chunk)),
                ).subquery()
                users.update((image_id, count) for image_id, count in
                             conn.execute(
                                 sa.select(pairs.c.image_id, sa.func.count())
                                 .group_by(pairs.c.image_id)))
        return users

    @_guarded
    def image_ids(self):
        """Every image id the database names (deleted instances' too): a
        scan of the whole history, for bases cached without their image
        recorded."""
        instance, bdm = _INSTANCE.c, _BDM.c
        with self._reading() as conn:
            return set(conn.scalars(sa.union(
                sa.select(instance.image_ref)
                .where(instance.image_ref.is_not(None)),
                sa.select(bdm.uuid).where(bdm.source_type == 'image',
                                          bdm.uuid.is_not(None)))))

    # Block device mappings ----------------------------------------------

    @_guarded
    def bdm_list(self, instance_uuid):
        with self._reading() as conn:
            return _all(conn, sa.select(_BDM)
                        .filter_by(instance_uuid=instance_uuid)
                        .order_by(_BDM.c.bdm_index))

    @_guarded
    def bdm_recorded(self, column, values):
        """Those of ``values`` that some block device mapping, a deleted
        instance's included, records in ``column`` (volume_id or
        attachment_id)."""
        field = _BDM.c[column]
        recorded = set()
        with self._reading() as conn:
            for chunk in _chunks(sorted(set(values))):
                recorded.update(conn.scalars(
                    sa.select(field).where(field.in_(chunk)).distinct()))
        return recorded

    @_guarded
    def bdm_using_volume(self, volume_id):
        """The block device mapping of a live instance that records
        ``volume_id``, or None (one query)."""
        with self._reading() as conn:
            return _first(conn, sa.select(_BDM)
                          .join(_INSTANCE,
                                _INSTANCE.c.uuid == _BDM.c.instance_uuid)
                          .where(_BDM.c.volume_id == volume_id,
                                 _INSTANCE.c.deleted == sa.false())
                          .order_by(_BDM.c.id).limit(1))

    @_guarded
    def bdm_get(self, instance_uuid, bdm_index):
        with self._reading() as conn:
            return dict(conn.execute(
                sa.select(_BDM)
                .filter_by(instance_uuid=instance_uuid, bdm_index=bdm_index)
            ).mappings().one())

    @_guarded
    def bdm_update(self, instance_uuid, bdm_index, values):
        with self._transaction() as conn:
            conn.execute(
                sa.update(_BDM)
                .filter_by(instance_uuid=instance_uuid, bdm_index=bdm_index)
                .values(updated_at=models.utcnow(), **values))

    # Deployment -----------------------------------------------------------

    @_guarded
    def deployment_tag(self):
        """The tag ``db sync`` chose for this database."""
        with self._reading() as conn:
            return conn.scalars(sa.select(models.deployment.c.tag)).one()

    # Faults, actions and events -----------------------------------------

    @_guarded
    def fault_create(self, instance_uuid, code, message, details, host):
        """Record a fault; a message longer than its column is cut, and
        kept whole at the head of the details."""
        if len(message) > 255:
            details = '\n\n'.join(filter(None, [message, details]))
            message = message[:252] + '...'
        with self._transaction() as conn:
            conn.execute(sa.insert(_FAULT).values(
                instance_uuid=instance_uuid, code=code, message=message,
                details=details, host=host))

    @_guarded
    def fault_get_latest(self, instance_uuid):
        with self._reading() as conn:
            return _first(conn, sa.select(_FAULT)
                          .filter_by(instance_uuid=instance_uuid)
                          .order_by(_FAULT.c.id.desc()).limit(1))

    @_guarded
    def action_start(self, instance_uuid, action, request_id):
        """Record an action; its id. Idempotent by ``request_id`` (a retry
        after a lost commit finds the action recorded)."""
        with self._transaction() as conn:
            existing = conn.scalars(
                sa.select(_ACTION.c.id)
                .filter_by(instance_uuid=instance_uuid,
                           request_id=request_id)).first()
            if existing is not None:
                return existing
            return conn.execute(sa.insert(_ACTION).values(
                instance_uuid=instance_uuid, action=action,
                request_id=request_id)).inserted_primary_key[0]

    @_guarded
    def action_finish(self, action_id, message=None):
        with self._transaction() as conn:
            conn.execute(sa.update(_ACTION)
                         .filter_by(id=action_id)
                         .values(finish_time=models.utcnow(),
                                 message=message and message[:255]))

    @_guarded
    def action_list(self, instance_uuid):
        """Actions of an instance, each with its ``events`` in order."""
        with self._reading() as conn:
            actions = _all(conn, sa.select(_ACTION)
                           .filter_by(instance_uuid=instance_uuid)
                           .order_by(_ACTION.c.id))
            for action in actions:
                action['events'] = _all(conn, sa.select(_EVENT)
                                        .filter_by(action_id=action['id'])
                                        .order_by(_EVENT.c.id))
            return actions

    @_guarded
    def event_start(self, action_id, event, host=None):
        with self._transaction() as conn:
            conn.execute(sa.insert(_EVENT).values(action_id=action_id,
                                                  event=event, host=host))

    # Flow owners ----------------------------------------------------------

    @_guarded
    def flow_owner_create(self, flow_uuid, instance_uuid, action, host,
                          posting=None):
        """Record a new flow, owned by nobody yet (``posting``: the job
        board posting that is to run it)."""
        with self._transaction() as conn:
            conn.execute(sa.insert(_OWNER).values(
                flow_uuid=flow_uuid, instance_uuid=instance_uuid,
                action=action, host=host, posting=posting, takeovers=0))

    @_guarded
    def flow_claim(self, flow_uuid, instance_uuid, action, owner, host):
        """Make ``owner`` the flow's owner with a new fencing token, which
        makes every later write of a previous owner fail; returns
        (token, whether another owner had run it before)."""
        token = str(uuidlib.uuid4())
        claim = dict(owner=owner, token=token, host=host,
                     claimed_at=models.utcnow())
        with self.engine.begin() as conn:
            row = _first(conn, sa.select(_OWNER.c.token, _OWNER.c.takeovers)
                         .filter_by(flow_uuid=flow_uuid).with_for_update())
            if row is None:  # a flow saved before flow owners were kept
                conn.execute(sa.insert(_OWNER).values(
                    flow_uuid=flow_uuid, instance_uuid=instance_uuid,
                    action=action, takeovers=0, **claim))
                return token, False
            taken_over = row['token'] is not None
            conn.execute(sa.update(_OWNER).filter_by(flow_uuid=flow_uuid)
                         .values(takeovers=row['takeovers'] + int(taken_over),
                                 **claim))
        return token, taken_over

    @_guarded
    def flow_owner_get(self, flow_uuid):
        with self._reading() as conn:
            return _first(conn, sa.select(_OWNER).filter_by(
                flow_uuid=flow_uuid))

    @_guarded
    def flow_owner_list(self, instance_uuid=None):
        with self._reading() as conn:
            query = sa.select(_OWNER).order_by(_OWNER.c.claimed_at)
            if instance_uuid is not None:
                query = query.filter_by(instance_uuid=instance_uuid)
            return _all(conn, query)

    @_guarded
    def flow_postings_started(self, postings):
        """Of these job postings, those whose flow an owner has begun."""
        if not postings:
            return set()
        with self._reading() as conn:
            return set(conn.scalars(
                sa.select(_OWNER.c.posting)
                .where(_OWNER.c.posting.in_(list(postings)),
                       _OWNER.c.token.is_not(None))))

    @_guarded
    def flow_repost(self, flow_uuid, expected_posting, posting):
        """Compare-and-swap the flow's posting; whether this call won (of
        two that found the same posting gone, one posts again)."""
        with self._transaction() as conn:
            return conn.execute(
                sa.update(_OWNER)
                .where(_OWNER.c.flow_uuid == flow_uuid,
                       _OWNER.c.posting == expected_posting
                       if expected_posting is not None
                       else _OWNER.c.posting.is_(None))
                .values(posting=posting)).rowcount == 1
