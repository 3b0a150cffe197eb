"""spawnflow on PostgreSQL: schema, a full build and delete, and the
compare-and-swap task-state save. Skips when no server can be used."""

import uuid as uuidlib

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow import instance_states
from spawnflow import objects
from spawnflow.persistence import migration
from tests import conftest
from tests.functional import leaks
from tests.functional import test_migrations


@pytest.fixture
def pg_client(postgresql_url, tmp_path):
    config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                   tmp_path / 'state',
                                   connection=postgresql_url)
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        assert client.db.engine.dialect.name == 'postgresql'
        client.db_sync()
        yield client


def _tables(engine):
    return set(sa.inspect(engine).get_table_names())


def test_db_sync_creates_both_schemas(pg_client):
    engine = pg_client.db.engine
    tables = _tables(engine)
    assert (test_migrations.SPAWNFLOW_TABLES
            | test_migrations.TASKFLOW_TABLES
            | {migration.VERSION_TABLE, 'alembic_version'}) <= tables
    assert migration.current_revision(engine) == migration.head_revision()
    pg_client.db_sync()
    assert _tables(engine) == tables
    assert migration.current_revision(engine) == migration.head_revision()


def test_migrations_match_models_on_postgresql(pg_client):
    assert test_migrations.model_differences(pg_client.db.engine) == []


def test_build_and_delete(pg_client, tmp_path):
    image = pg_client.image_create(
        'cirros', conftest.make_qcow2(tmp_path / 'cirros.qcow2'), 'qcow2')
    before = leaks.snapshot(pg_client)
    server = pg_client.build(
        'pg-vm', flavor='m1.tiny', image=image['id'], block_devices=[
            'source=blank,destination=volume,size=1,'
            'delete-on-termination=true'])
    uuid = server['uuid']
    assert server['vm_state'] == 'active', server['fault']
    assert server['task_state'] is None
    assert pg_client.services.virt.state(uuid) == 'running'
    bdms = {(b['device_name'], b['source_type'], b['destination_type'])
            for b in server['block_devices']}
    assert bdms == {('vda', 'image', 'local'), ('vdb', 'blank', 'volume')}
    volume_id = server['block_devices'][1]['volume_id']
    assert pg_client.services.volume.get(volume_id)['status'] == 'in-use'
    [action] = pg_client.actions(uuid)
    assert action['action'] == 'create'
    assert action['events']
    assert {e['result'] for e in action['events']} == {'Success'}
    with pg_client.db.engine.connect() as conn:
        assert conn.scalar(sa.text('SELECT count(*) FROM flowdetails')) > 0

    pg_client.delete(uuid)
    with pytest.raises(exception.InstanceNotFound):
        pg_client.show(uuid)
    assert pg_client.show(uuid, read_deleted=True)['vm_state'] == 'deleted'
    assert uuid not in {i['uuid'] for i in pg_client.list()}
    with pytest.raises(exception.VolumeNotFound):
        pg_client.services.volume.get(volume_id)
    after = leaks.snapshot(pg_client)
    assert after['domains'] == before['domains']
    assert after['volume_files'] == before['volume_files']
    assert after['volume_status'] == before['volume_status']
    assert after['attachments'] == before['attachments']
    # Only the image cache (kept, as in Nova) remains.
    assert {f for f in after['instance_files']
            if not f.startswith('_base')} == before['instance_files']


def _building_instance(client):
    uuid = str(uuidlib.uuid4())
    request = objects.BuildRequest(
        name='cas', flavor=objects.Flavor.named('m1.tiny'),
        image_ref=str(uuidlib.uuid4()))
    client.db.instance_create(uuid, request, vm_state='building',
                              task_state='scheduling')
    return uuid


def test_compare_and_swap_refuses_mismatch(pg_client):
    db = pg_client.db
    uuid = _building_instance(pg_client)
    with pytest.raises(exception.UnexpectedTaskStateError) as info:
        db.instance_update(uuid, {'task_state': 'spawning'},
                           expected_task_state='block_device_mapping')
    assert info.value.expected == ('block_device_mapping',)
    assert info.value.actual == 'scheduling'
    assert db.instance_get(uuid)['task_state'] == 'scheduling'

    updated = db.instance_update(
        uuid, {'task_state': 'block_device_mapping'},
        expected_task_state=('scheduling', 'spawning'))
    assert updated['task_state'] == 'block_device_mapping'

    # A delete wins the race: the build's next save must not overwrite it.
    db.instance_update(uuid, {'task_state': 'deleting'},
                       expected_task_state=instance_states.BUILD_TASK_STATES)
    with pytest.raises(exception.UnexpectedTaskStateError) as info:
        db.instance_update(uuid, {'task_state': 'spawning'},
                           expected_task_state='block_device_mapping')
    assert info.value.actual == 'deleting'
    assert db.instance_get(uuid)['task_state'] == 'deleting'


def test_compare_and_swap_with_none(pg_client):
    db = pg_client.db
    uuid = _building_instance(pg_client)
    with pytest.raises(exception.UnexpectedTaskStateError):
        db.instance_update(uuid, {'vm_state': 'active'},
                           expected_task_state=None)
    db.instance_update(uuid, {'task_state': None},
                       expected_task_state='scheduling')
    updated = db.instance_update(uuid, {'vm_state': 'active'},
                                 expected_task_state=(None, 'spawning'))
    assert (updated['vm_state'], updated['task_state']) == ('active', None)


@pytest.mark.parametrize('driver', ['postgresql', 'postgresql+psycopg',
                                    'postgresql+psycopg2'])
def test_every_documented_url_scheme_works(postgresql_server, tmp_path,
                                           driver):
    """Plain postgresql:// is psycopg 3 (SQLAlchemy 2.1's default); both
    drivers are installed, and a missing schema says so on either."""
    with postgresql_server.database('scheme') as url:
        url = driver + url[url.index('://'):]
        config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                       tmp_path / 'state', connection=url)
        with api.Client(conf=spawnflow_conf.load([config])) as client:
            with pytest.raises(exception.SchemaMissing):
                client.list()
            client.db_sync()
            image = client.image_create(
                'cirros', conftest.make_qcow2(tmp_path / 'c.qcow2'), 'qcow2')
            server = client.build('scheme', flavor='m1.tiny',
                                  image=image['id'])
            assert server['vm_state'] == 'active', server['fault']
            client.delete(server['uuid'])
            client.db.engine.dispose()
