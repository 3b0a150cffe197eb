"""Database errors read from the drivers' own codes, on real servers: a
missing schema, a lock that is not given up in time (transient: retried,
then reported), on SQLite, MariaDB and PostgreSQL."""

import sqlite3
import time

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow import objects
from spawnflow.persistence import errors
from tests import conftest

#: Retried twice, at once: the tests count attempts, not wait.
RETRIES = ('[database]\ndb_max_retries = 2\ndb_retry_interval = 0\n'
           'sqlite_busy_timeout = 1\n')


def _client(tmp_path, url=None):
    config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                   tmp_path / 'state', connection=url,
                                   extra=RETRIES)
    return api.Client(conf=spawnflow_conf.load([config]))


@pytest.fixture(params=['mariadb', 'postgresql'])
def server_url(request):
    server = request.getfixturevalue('%s_server' % request.param)
    with server.database('errors') as url:
        yield url


def test_schema_missing_on_a_server(tmp_path, server_url):
    with _client(tmp_path, server_url) as client:
        with pytest.raises(exception.SchemaMissing) as info:
            client.list()
    assert 'run `spawnflow db sync`' in str(info.value)


def test_lock_not_given_up_is_transient_then_reported(tmp_path, mariadb_url):
    """One session holds a row lock; another's update waits
    innodb_lock_wait_timeout (1 s) and fails with MySQL's 1205: a
    passing failure, which the guard retries."""
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE held (id INT PRIMARY KEY)')
        conn.exec_driver_sql('INSERT INTO held VALUES (1)')
    holder = engine.connect()
    holder.begin()
    holder.exec_driver_sql('SELECT * FROM held WHERE id = 1 FOR UPDATE')
    attempts = []

    def update():
        attempts.append(time.monotonic())
        with engine.begin() as conn:
            conn.exec_driver_sql('SET SESSION innodb_lock_wait_timeout = 1')
            conn.exec_driver_sql('UPDATE held SET id = 2 WHERE id = 1')
    try:
        with _client(tmp_path) as client:
            with pytest.raises(exception.ServiceUnavailable) as info:
                errors.guarded(client.db.retry, engine.url, 'update',
                               update)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert 'Lock wait timeout exceeded' in str(info.value)
    assert len(attempts) == 3  # db_max_retries = 2


def test_locked_sqlite_is_transient_then_reported(tmp_path):
    """Another process's write transaction holds the file: each attempt
    waits sqlite_busy_timeout, then the guard retries."""
    with _client(tmp_path) as client:
        client.db_sync()
        path = client.db.engine.url.database
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute('BEGIN IMMEDIATE')
        try:
            started = time.monotonic()
            with pytest.raises(exception.ServiceUnavailable) as info:
                client.db.instance_update('x', {'host': 'h'})
            waited = time.monotonic() - started
        finally:
            holder.execute('ROLLBACK')
            holder.close()
        assert client.list() == []  # usable again
    assert 'database is locked' in str(info.value)
    # Three attempts (db_max_retries = 2), each waiting the busy timeout.
    assert waited >= 3


def test_recording_an_instance_again_finds_it(tmp_path):
    """A retry after a commit whose answer was lost records nothing twice
    (nor fails on the instance's unique uuid)."""
    request = objects.BuildRequest(
        name='once', flavor=objects.Flavor.named('m1.tiny'),
        block_device_mappings=[objects.BlockDeviceMapping(
            'blank', 'volume', volume_size=1, boot_index=0)])
    with _client(tmp_path) as client:
        client.db_sync()
        first = client.db.instance_create('u-1', request, 'building',
                                          'scheduling')
        again = client.db.instance_create('u-1', request, 'building',
                                          'scheduling')
        assert again == first
        assert len(client.db.instance_list()) == 1
        assert len(client.db.bdm_list('u-1')) == 1
        action = client.db.action_start('u-1', 'create', 'req-1')
        assert client.db.action_start('u-1', 'create', 'req-1') == action
        assert len(client.actions('u-1')) == 1


def test_a_pooled_connection_the_server_dropped_is_retried(tmp_path,
                                                           server_url):
    """The server ends every session of spawnflow's (as a restart or an
    idle timeout would): the next read and write fail on their pooled
    connections, and their retries succeed on new ones (no pre-ping)."""
    with _client(tmp_path, server_url) as client:
        client.db_sync()
        client.list()  # leaves a pooled connection
        engine = client.db.engine
        # From outside spawnflow's pool, as the server's administrator.
        admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
        try:
            with admin.connect() as conn:
                if engine.dialect.name == 'postgresql':
                    conn.execute(sa.text(
                        'SELECT pg_terminate_backend(pid) FROM '
                        'pg_stat_activity WHERE datname = current_database() '
                        'AND pid != pg_backend_pid()'))
                else:
                    for (pid,) in conn.execute(sa.text(
                            'SELECT id FROM information_schema.processlist '
                            'WHERE db = DATABASE() AND id != '
                            'CONNECTION_ID()')).all():
                        conn.execute(sa.text('KILL %d' % pid))
        finally:
            admin.dispose()
        dropped = []
        sa.event.listen(engine, 'handle_error', dropped.append)
        assert client.list() == []
        server = client.build('after-drop', vcpus=1, ram=64, disk=1,
                              block_devices=['source=blank,'
                                             'destination=volume,size=1,'
                                             'boot-index=0'])
        assert server['vm_state'] == 'active', server['fault']
        assert dropped, 'no pooled connection was found dropped'
