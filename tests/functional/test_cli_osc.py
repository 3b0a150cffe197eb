"""OpenStackClient's habits in the real ``spawnflow`` command, run as a
process on the embedded default (SQLite, local image and volume stores,
libvirt's test:///default): names or IDs, OSC's block-device keys,
multi-deletes that go on past a failure, server events, volumes and
snapshots, whole faults, orphans reap --dry-run and plain help texts.

The tests share one configuration and its images (each process costs
about two seconds); each leaves no server or volume behind.
"""

from importlib import metadata
import json
import os
import subprocess
import sys
import uuid as uuidlib

from cliff import commandmanager
import pytest

from spawnflow import api
from spawnflow.cli import main as cli_main
from spawnflow.drivers.volume import base as volume_base
from tests import conftest

SPAWNFLOW = os.path.join(os.path.dirname(sys.executable), 'spawnflow')


class Spawnflow:
    """``spawnflow --config-file CONFIG ...`` as a process."""

    def __init__(self, config_file):
        self.config_file = config_file

    def __call__(self, *args, env=None):
        completed = subprocess.run(
            [SPAWNFLOW, '--config-file', self.config_file] + list(args),
            capture_output=True, text=True, timeout=300,
            env=dict(os.environ, **(env or {})))
        assert 'Traceback' not in completed.stderr, completed.stderr
        return completed

    def ok(self, *args, env=None):
        completed = self(*args, env=env)
        assert completed.returncode == 0, completed.stderr
        return completed

    def json(self, *args):
        return json.loads(self.ok(*args, '-f', 'json').stdout)

    def fails(self, *args):
        """The error lines of a command that must fail, printing nothing
        on stdout."""
        completed = self(*args)
        assert completed.returncode == 1, completed
        assert completed.stdout == ''
        return completed.stderr.splitlines()


@pytest.fixture(scope='module')
def cloud(tmp_path_factory):
    """The shared configuration with images: cirros, and two named dup."""
    top = tmp_path_factory.mktemp('osc')
    config = conftest.write_config(top / 'spawnflow.conf', top / 'state')
    run = Spawnflow(config)
    run.ok('db', 'sync')
    disk = conftest.make_qcow2(top / 'disk.qcow2', '16M')
    with api.Client(config_files=[config]) as client:
        images = {name: client.image_create(name, disk, 'qcow2')['id']
                  for name in ('cirros', 'dup', 'dup', 'scratch')}
        dups = sorted(i['id'] for i in client.image_list()
                      if i['name'] == 'dup')
    run.images, run.dups = images, dups
    return run


@pytest.fixture
def api_client(cloud):
    with api.Client(config_files=[cloud.config_file]) as client:
        yield client
        assert client.list() == [], 'a test left a server'
        assert client.services.volume.list() == [], 'a test left a volume'


def _state(client):
    return (client.db.instance_list(read_deleted=True),
            client.services.volume.list())


def test_names_osc_block_device_keys_and_server_events(cloud, api_client):
    server = cloud.json(
        'server', 'create', '--flavor', 'm1.tiny', '--image', 'cirros',
        '--block-device', 'source_type=blank,destination_type=volume,'
        'volume_size=1,boot_index=1,delete_on_termination=true,'
        'device_name=/dev/vdz', 'web-1')
    assert server['status'] == 'ACTIVE', server['fault']
    assert server['image'] == cloud.images['cirros']
    assert [(b['device_name'], b['source_type'], b['destination_type'],
             b['volume_size'], b['boot_index'], b['delete_on_termination'])
            for b in server['block_devices']] == [
        ('vda', 'image', 'local', None, 0, False),
        ('vdb', 'blank', 'volume', 1, 1, True)]

    shown = cloud.json('server', 'show', 'web-1')
    assert shown['id'] == server['id'] and shown['fault'] is None
    assert cloud.json('image', 'show', 'cirros')['id'] == (
        cloud.images['cirros'])

    [action] = cloud.json('server', 'event', 'list', 'web-1')
    assert set(action) == {'Request ID', 'Server ID', 'Action',
                           'Start Time'}
    assert (action['Server ID'], action['Action']) == (server['id'],
                                                       'create')
    event = cloud.json('server', 'event', 'show', server['id'],
                       action['Request ID'])
    assert event['request_id'] == action['Request ID']
    assert event['finish_time'] is not None
    names = [e['event'] for e in event['events']]
    assert names[0] == 'mark-building' and names[-1] == 'mark-active'
    assert {e['result'] for e in event['events']} == {'Success'}
    assert all(e['owner'] for e in event['events'])
    missing = cloud.fails('server', 'event', 'show', 'web-1', 'req-nope')
    assert missing == ['Server %s has no action with request ID req-nope.'
                       % server['id']]

    # A second web-1: the name is ambiguous, the ID still wins.
    other = cloud.json('server', 'create', '--flavor', 'm1.tiny',
                       '--image', cloud.images['cirros'], 'web-1')
    assert cloud.fails('server', 'show', 'web-1') == [
        "More than one server exists with the name 'web-1' (%s); give its "
        "ID." % ', '.join(sorted([server['id'], other['id']]))]
    assert cloud.json('server', 'show', other['id'])['id'] == other['id']

    # A deletes goes on past what it cannot delete, then says so.
    deleted = cloud('server', 'delete', 'nosuch', server['id'],
                    other['id'])
    assert deleted.returncode == 1
    assert deleted.stderr.splitlines() == [
        "Failed to delete server with name or ID 'nosuch': Instance "
        "nosuch could not be found.",
        '1 of 3 servers failed to delete.']
    assert cloud.json('server', 'list') == []


@pytest.mark.parametrize('args, message', [
    pytest.param(['--image', 'dup'],
                 "More than one image exists with the name 'dup' ({dups}); "
                 "give its ID.", id='ambiguous-image'),
    pytest.param(['--image', 'nosuch'], 'Image nosuch could not be found.',
                 id='unknown-image'),
    pytest.param(['--image', 'cirros', '--block-device',
                  'source_type=blank,destination_type=volume,'
                  'volume_size=1,colour=red'],
                 "Unknown block device key 'colour'; known are boot-index, "
                 "boot_index, delete-on-termination, delete_on_termination, "
                 "destination, destination_type, device_name, size, source, "
                 "source_type, uuid, volume_size.", id='unknown-key'),
    pytest.param(['--image', 'cirros', '--block-device',
                  'source_type=blank,destination_type=volume,volume_size'],
                 "Invalid block device 'source_type=blank,destination_type="
                 "volume,volume_size': give key=value items separated by "
                 "commas.", id='item-without-value'),
    pytest.param(['--image', 'cirros', '--block-device',
                  'source=blank,destination=volume,size=1,volume_size=2'],
                 'Block device gives volume_size twice (size, '
                 'volume_size).', id='both-spellings'),
    pytest.param(['--block-device',
                  'source_type=volume,destination_type=volume,uuid=nosuch,'
                  'boot_index=0'],
                 'Volume nosuch could not be found.', id='unknown-volume'),
])
def test_bad_names_and_block_devices_create_nothing(cloud, api_client, args,
                                                    message):
    before = _state(api_client)
    lines = cloud.fails('server', 'create', '--flavor', 'm1.tiny', *args,
                        'bad')
    assert lines == [message.format(dups=', '.join(cloud.dups))]
    assert _state(api_client) == before


def test_volumes_snapshots_and_kept_volumes(cloud, api_client):
    data = cloud.json('volume', 'create', '--size', '1', 'data')
    assert (data['status'], data['size'], data['metadata']) == (
        'available', 1, {})
    snap = cloud.json('volume', 'snapshot', 'create', 'snap', '--volume',
                      'data')
    assert snap['volume_id'] == data['id']
    assert [s['ID'] for s in cloud.json('volume', 'snapshot', 'list')] == [
        snap['id']]
    assert cloud.json('volume', 'snapshot', 'show', 'snap') == snap
    copy = cloud.json('volume', 'create', '--size', '1', '--snapshot',
                      'snap', 'copy')
    assert copy['snapshot_id'] == snap['id']
    imaged = cloud.json('volume', 'create', '--size', '1', '--image',
                        'cirros', 'imaged')
    assert imaged['image_id'] == cloud.images['cirros']
    assert cloud.fails('volume', 'create', '--size', '0', 'tiny') == [
        'Volume size must be a positive integer, not 0.']

    # A volume kept by delete_on_termination=false outlives its server,
    # and goes with volume delete; one in use is refused.
    server = cloud.json('server', 'create', '--flavor', 'm1.tiny',
                        '--image', 'cirros', '--block-device',
                        'source_type=volume,destination_type=volume,'
                        'uuid=data,delete_on_termination=false', 'keeper')
    assert server['status'] == 'ACTIVE', server['fault']
    assert cloud.json('volume', 'show', 'data')['status'] == 'in-use'
    assert cloud.fails('volume', 'delete', 'data') == [
        "Failed to delete volume with name or ID 'data': Volume %s is vdb "
        "of server %s; delete the server first."
        % (data['id'], server['id']),
        '1 of 1 volumes failed to delete.']
    cloud.ok('server', 'delete', 'keeper')
    assert cloud.json('volume', 'show', data['id'])['status'] == 'available'

    lines = cloud.fails('volume', 'delete', 'data', 'nosuch', 'copy',
                        imaged['id'])
    assert lines == ["Failed to delete volume with name or ID 'nosuch': "
                     "Volume nosuch could not be found.",
                     '1 of 4 volumes failed to delete.']
    assert cloud.json('volume', 'list') == []
    cloud.ok('volume', 'snapshot', 'delete', 'snap')
    assert cloud.json('volume', 'snapshot', 'list') == []

    assert cloud.fails('image', 'delete', 'scratch', 'nosuch') == [
        "Failed to delete image with name or ID 'nosuch': Image nosuch "
        "could not be found.", '1 of 2 images failed to delete.']
    assert 'scratch' not in {i['Name'] for i in cloud.json('image', 'list')}


def test_faults_shown_whole_and_orphans_dry_run(cloud, api_client):
    failed = cloud('server', 'create', '--flavor', 'm1.tiny', '--image',
                   'cirros', 'broken', env={'SPAWNFLOW_FAIL_AT':
                                            'start-domain'})
    assert failed.returncode == 1
    [uuid] = [i['uuid'] for i in api_client.list()]
    fault = cloud.json('server', 'show', 'broken')['fault']
    assert fault['code'] == 500
    assert fault['message'].startswith('start-domain failed: failure '
                                       'injected at start-domain')
    assert 'InjectedFailure' in fault['details']
    assert fault['created']
    [action] = api_client.actions(uuid)
    results = {e['event']: e['result'] for e in cloud.json(
        'server', 'event', 'show', 'broken', action['request_id'])['events']}
    assert results['start-domain'] == 'Error'
    assert results['revert-mark-building'] == 'Reverted'

    # A message longer than its column is cut, and whole in the details.
    long_message = 'the cause, at length: ' + 'x' * 300
    api_client.db.fault_create(uuid, 409, long_message, 'the traceback',
                               api_client.conf.host)
    fault = cloud.json('server', 'show', uuid)['fault']
    assert fault['code'] == 409
    assert fault['message'] == long_message[:252] + '...'
    assert fault['details'] == long_message + '\n\nthe traceback'
    table = cloud.ok('server', 'show', uuid, '-c', 'fault').stdout
    assert "code='409'" in table, table
    cloud.ok('server', 'delete', 'broken')

    owner = str(uuidlib.uuid4())
    orphan = api_client.services.volume.create(
        volume_base.volume_name(owner, 0), 1, volume_base.volume_metadata(
            api_client.services.deployment, owner, 0))
    listed = cloud.json('orphans', 'reap', '--dry-run')
    assert [(o['Kind'], o['ID']) for o in listed] == [('volume',
                                                       orphan['id'])]
    assert api_client.services.volume.get(orphan['id'])['status'] == (
        'available')
    assert cloud.json('orphans', 'reap') == listed
    assert cloud.json('orphans', 'list') == []


def test_help_texts_are_plain_sentences(cloud):
    listed = cloud.ok('help').stdout
    commands = commandmanager.CommandManager('spawnflow.cli')
    app = cli_main.SpawnflowApp()
    for name, entry in sorted(commands):
        if name in ('complete', 'help'):
            continue  # cliff's own
        factory = entry.load()
        doc = factory.__doc__.strip()
        first = doc.splitlines()[0]
        assert first.endswith('.') and first[0].isupper(), (name, first)
        assert first.rstrip('.') in listed, (name, first)
        text = factory(app, None).get_parser('spawnflow ' + name) \
            .format_help()
        for markup in ('``', ':class:', ':func:'):
            assert markup not in text, (name, markup)


def test_version_is_the_package_version(cloud):
    version = cloud.ok('--version')
    assert (version.stdout or version.stderr).strip() == (
        'spawnflow %s' % metadata.version('spawnflow'))
    assert metadata.version('spawnflow')[0].isdigit()
