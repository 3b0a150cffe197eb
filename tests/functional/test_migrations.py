"""The Alembic chain creates exactly the tables the models describe (SQLite
and MariaDB, whose types differ: MEDIUMTEXT, DATETIME(6)).

test_postgresql.py runs the same check on PostgreSQL.
"""

import json
import subprocess
import sys

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.persistence import api as db_api
from spawnflow.persistence import migration
from spawnflow.persistence import models
from spawnflow.persistence import taskflow_backend
from tests import conftest

SPAWNFLOW_TABLES = {'instances', 'block_device_mappings', 'instance_faults',
                    'instance_actions', 'instance_actions_events',
                    'compute_nodes', 'deployment', 'flow_owners',
                    'instance_user_data'}
TASKFLOW_TABLES = {'logbooks', 'flowdetails', 'atomdetails'}


def _ours(name, type_, parent_names):
    """Compare spawnflow's tables only: TaskFlow's share the database."""
    tables = models.metadata.tables
    if type_ == 'schema':
        return True
    if type_ == 'table':
        return name in tables
    return parent_names.get('table_name') in tables


def model_differences(engine):
    """What autogenerate would change to make the database match models."""
    with engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(
            conn, opts={'include_name': _ours, 'compare_type': True,
                        'compare_server_default': True})
        return autogenerate.compare_metadata(context, models.metadata)


def test_models_cover_the_expected_tables():
    assert set(models.metadata.tables) == SPAWNFLOW_TABLES


def test_empty_database_differs_by_every_table(tmp_path):
    # Proves the comparison sees spawnflow's tables at all.
    engine = sa.create_engine('sqlite:///%s' % (tmp_path / 'empty.sqlite'))
    try:
        diffs = model_differences(engine)
    finally:
        engine.dispose()
    assert sorted(d[1].name for d in diffs if d[0] == 'add_table') == (
        sorted(SPAWNFLOW_TABLES))


def test_migrations_match_models_on_sqlite(client):
    assert client.db.engine.dialect.name == 'sqlite'
    assert model_differences(client.db.engine) == []


def test_migrations_match_models_on_mariadb(request, tmp_path):
    with conftest.fresh_database(request, 'mariadb', tmp_path,
                                 'models') as url:
        engine = db_api.create_engine(url)
        try:
            migration.sync(engine, taskflow_backend.SQLBackend(engine))
            assert engine.dialect.name in models.MYSQL
            assert model_differences(engine) == []
        finally:
            engine.dispose()


def test_sync_reaches_head_and_is_idempotent(config_file):
    conf = spawnflow_conf.load([config_file])
    with api.Client(conf=conf) as client:
        client.db_sync()
        engine = client.db.engine
        first = set(sa.inspect(engine).get_table_names())
        client.db_sync()
        assert set(sa.inspect(engine).get_table_names()) == first
        assert migration.current_revision(engine) == (
            migration.head_revision())
    assert SPAWNFLOW_TABLES | TASKFLOW_TABLES | {
        migration.VERSION_TABLE} <= first


def test_comparison_detects_drift(client):
    # Proves the synced tables are really compared, column by column.
    with client.db.engine.begin() as conn:
        conn.execute(sa.text('ALTER TABLE compute_nodes '
                             'ADD COLUMN drift INTEGER'))
    diffs = model_differences(client.db.engine)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [
        ('remove_column', 'compute_nodes', 'drift')]


def _run(*argv):
    return subprocess.run([sys.executable, '-m'] + list(argv),
                          capture_output=True, text=True, timeout=120)


def test_db_version_and_alembic_own_command(tmp_path, config_file):
    """`spawnflow db version` reads, never creates; alembic's own command
    runs the chain from the shipped alembic.ini on a URL, in spawnflow's
    version table; db sync then finishes what alembic began."""
    database = tmp_path / 'state' / 'spawnflow.sqlite'
    url = 'sqlite:///%s' % database
    spawnflow = ('spawnflow.cli.main', '--config-file', config_file)
    alembic = ('alembic', '-c', migration.ALEMBIC_INI, '-x', 'url=' + url)

    missing = _run(*spawnflow, 'db', 'version')
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        'No database at %s: run `spawnflow db sync` first.' % database]
    assert not database.exists()

    no_url = _run('alembic', '-c', migration.ALEMBIC_INI, 'current')
    assert no_url.returncode != 0
    assert 'No database URL: pass -x url=' in no_url.stderr

    database.parent.mkdir()
    upgraded = _run(*alembic, 'upgrade', '0003')
    assert upgraded.returncode == 0, upgraded.stderr
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == SPAWNFLOW_TABLES - {'flow_owners', 'instance_user_data'
                                         } | {migration.VERSION_TABLE}

    def version():
        shown = _run(*spawnflow, 'db', 'version', '-f', 'json')
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)

    head = migration.head_revision()
    assert version() == {'Revision': '0003', 'Head': head,
                         'Up To Date': False}
    synced = _run(*spawnflow, 'db', 'sync')
    assert synced.stdout == 'Database at revision %s.\n' % head
    assert version() == {'Revision': head, 'Head': head, 'Up To Date': True}
    current = _run(*alembic, 'current')
    assert current.stdout == '%s (head)\n' % head, current.stderr


@pytest.mark.parametrize('kind', ['sqlite', 'postgresql', 'mariadb'])
def test_sync_indexes_the_taskflow_lookups(request, tmp_path, kind):
    """Flow details by logbook and by state, atoms by flow: indexed, and
    finding the unfinished flows uses the state's index (SQLite's plan),
    so neither reads every build ever recorded."""
    with conftest.fresh_database(request, kind, tmp_path,
                                 'indexes') as url:
        engine = db_api.create_engine(url)
        try:
            migration.sync(engine, taskflow_backend.SQLBackend(engine))
            inspector = sa.inspect(engine)
            indexed = {(table, tuple(index['column_names']))
                       for table in ('flowdetails', 'atomdetails')
                       for index in inspector.get_indexes(table)}
            assert {('flowdetails', ('parent_uuid',)),
                    ('flowdetails', ('state',)),
                    ('atomdetails', ('parent_uuid',))} <= indexed
            if kind == 'sqlite':
                connection = taskflow_backend.SQLBackend(
                    engine).get_connection()
                flowdetails = connection._tables.flowdetails
                query = sa.select(flowdetails.c.uuid).where(sa.or_(
                    flowdetails.c.state.is_(None),
                    flowdetails.c.state.in_(taskflow_backend.UNFINISHED)))
                with engine.connect() as conn:
                    plan = ' '.join(str(row[-1]) for row in conn.execute(
                        sa.text('EXPLAIN QUERY PLAN ' + str(query.compile(
                            compile_kwargs={'literal_binds': True})))))
                assert 'spawnflow_flowdetails_state_idx' in plan, plan
        finally:
            engine.dispose()
