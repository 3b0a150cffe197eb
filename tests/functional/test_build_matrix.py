"""One build per row of Nova's block-device matrix, on libvirt's test driver
and the local volume store; invalid combinations are refused first. Each
test runs on SQLite, MariaDB and PostgreSQL (a server that cannot be had
skips its tests)."""

import contextlib
import json
import subprocess
from xml.etree import ElementTree

import pytest

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from tests import conftest
from tests.functional import leaks

UUID = '5f8c3b2a-0a4e-4d0e-9d5e-1f2a3b4c5d6e'
#: SQLAlchemy's dialect name for each database the tests run on.
DIALECTS = {'sqlite': 'sqlite', 'mariadb': 'mysql',
            'postgresql': 'postgresql'}


@contextlib.contextmanager
def _database_url(request):
    """A fresh database of the requested kind for one test (None: SQLite,
    conftest's file under the test's state_path)."""
    if request.param == 'sqlite':
        yield None
        return
    server = request.getfixturevalue('%s_server' % request.param)
    with server.database('matrix') as url:
        yield url


@pytest.fixture(params=list(DIALECTS))
def client(request, tmp_path):
    """A client like conftest's, once per database (this override is
    also the one conftest's ``image`` fixture gets)."""
    with _database_url(request) as url:
        config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                       tmp_path / 'state', connection=url)
        with api.Client(conf=spawnflow_conf.load([config])) as client:
            assert client.db.engine.dialect.name == DIALECTS[request.param]
            client.db_sync()
            yield client


def _domain_disks(client, uuid):
    """{target dev: source file} of the running domain's disks, and of
    its read-only ones (the config drive)."""
    root = ElementTree.fromstring(client.services.virt.xml(uuid))
    disks, read_only = {}, {}
    for disk in root.findall('devices/disk'):
        found = read_only if disk.find('readonly') is not None else disks
        found[disk.find('target').get('dev')] = disk.find('source').get(
            'file')
    return disks, read_only


def _assert_active(client, server, expected_devices):
    assert server['vm_state'] == 'active', server['fault']
    assert server['task_state'] is None
    assert client.services.virt.state(server['uuid']) == 'running'
    disks, read_only = _domain_disks(client, server['uuid'])
    assert sorted(disks) == expected_devices
    assert read_only == {
        'vd' + chr(ord('a') + len(expected_devices)):
        client.services.virt.config_drive_path(server['uuid'])}
    for bdm in server['block_devices']:
        source = disks[bdm['device_name']]
        if bdm['destination_type'] == 'volume':
            volume = client.services.volume.get(bdm['volume_id'])
            assert volume['status'] == 'in-use'
            assert source == volume['path']
            assert [a['instance_uuid'] for a in volume['attachments']] == [
                server['uuid']]
            assert bdm['attachment_id'] == volume['attachments'][0]['id']
        else:
            assert source == bdm['connection_info']['data']['device_path']
    return disks


def test_image_to_local(client, image):
    server = client.build('img-local', flavor='m1.tiny', image=image['id'])
    disks = _assert_active(client, server, ['vda'])
    assert disks['vda'].endswith('/%s/disk' % server['uuid'])
    info = json.loads(subprocess.run(
        ['qemu-img', 'info', '--output=json', disks['vda']],
        check=True, capture_output=True, text=True).stdout)
    assert info['format'] == 'qcow2'
    assert info['virtual-size'] == 1024 ** 3  # m1.tiny's 1 GiB
    assert info['full-backing-filename'] == (
        client.services.image_cache.base_path(image['id']))
    assert len(client.services.image_cache.list()) == 1


def test_image_to_volume(client, image):
    server = client.build('img-vol', flavor='m1.tiny', block_devices=[
        'source=image,destination=volume,size=1,boot-index=0,uuid=%s'
        % image['id']])
    _assert_active(client, server, ['vda'])
    volume = client.services.volume.get(
        server['block_devices'][0]['volume_id'])
    assert volume['image_id'] == image['id']
    # Boot from volume: no root disk, no cache entry.
    assert client.services.image_cache.list() == []


def test_blank_to_volume(client, image):
    server = client.build('blank-vol', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=2'])
    _assert_active(client, server, ['vda', 'vdb'])
    volume = client.services.volume.get(
        server['block_devices'][1]['volume_id'])
    assert volume['size'] == 2


def test_snapshot_to_volume(client, image):
    source = client.services.volume.create('src', 1, {})
    snapshot = client.services.volume.snapshot_create(source['id'], 'snap')
    server = client.build('snap-vol', flavor='m1.tiny', block_devices=[
        'source=snapshot,destination=volume,boot-index=0,uuid=%s'
        % snapshot['id']])
    _assert_active(client, server, ['vda'])
    volume = client.services.volume.get(
        server['block_devices'][0]['volume_id'])
    assert volume['snapshot_id'] == snapshot['id']


def test_volume_to_volume(client, image):
    existing = client.services.volume.create('data', 1, {})
    server = client.build('vol-vol', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=volume,destination=volume,uuid=%s'
                              % existing['id']])
    _assert_active(client, server, ['vda', 'vdb'])
    assert server['block_devices'][1]['volume_id'] == existing['id']


def test_all_rows_in_one_instance(client, image):
    existing = client.services.volume.create('data', 1, {})
    snapshot = client.services.volume.snapshot_create(existing['id'], 's')
    server = client.build('all', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=1',
                              'source=image,destination=volume,size=1,'
                              'uuid=%s' % image['id'],
                              'source=snapshot,destination=volume,uuid=%s'
                              % snapshot['id'],
                              'source=volume,destination=volume,uuid=%s'
                              % existing['id']])
    _assert_active(client, server, ['vda', 'vdb', 'vdc', 'vdd', 'vde'])


@pytest.mark.parametrize('spec, message', [
    ('source=blank,destination=local', 'blank->local is not supported'),
    ('source=volume,destination=local,uuid=x',
     'volume->local is not supported'),
    ('source=snapshot,destination=local,uuid=x',
     'snapshot->local is not supported'),
    ('source=image,destination=local,boot-index=1,uuid=' + UUID,
     'must have boot index 0'),
    ('source=disk,destination=volume', 'source must be one of'),
    ('source=blank,destination=volume', 'needs size='),
    ('source=volume,destination=volume', 'needs uuid='),
    ('source=blank,destination=volume,size=1,uuid=x', 'takes no uuid'),
])
def test_invalid_combination_refused_before_anything_exists(
        client, image, spec, message):
    before = leaks.snapshot(client)
    with pytest.raises(exception.InvalidRequest, match=message):
        client.build('bad', flavor='m1.tiny', image=image['id'],
                     block_devices=[spec])
    assert client.list() == []
    assert leaks.snapshot(client) == before
