"""A failure at each task of the build flow reverts everything.

Each case provokes a real cause at a known point (through a listener on a
task transition, never a sleep) and checks that the instance is ERROR with
a fault naming the task and the cause, that reverts ran in reverse order,
and that libvirt domains, volume files, attachments, overlays and cache
entries are exactly as before the build.
"""

import os
import re

import pytest

from spawnflow.drivers.virt import guest_config
from spawnflow.drivers.volume import base as volume_base
from tests import conftest
from tests.functional import leaks
from tests.functional import transitions

VOLUME = conftest.BLANK_VOLUME


def _root_bdm(client, uuid):
    return client.db.bdm_list(uuid)[0]


def _uuid(client):
    (instance,) = client.db.instance_list()
    return instance['uuid']


def _conflicting_domain(client):
    """Define another domain that takes the instance's domain name."""
    uuid = _uuid(client)
    xml = ('<domain type="kvm"><name>%s</name><memory unit="MiB">64'
           '</memory><os><type>hvm</type></os></domain>'
           % guest_config.domain_name(uuid))
    client.services.virt.conn.defineXML(xml)


def _volume(client):
    return client.services.volume.find(volume_base.volume_metadata(
        client.services.deployment, _uuid(client), 1))


def _remove_volume_file(client):
    os.unlink(_volume(client)['path'])


def _delete_volume(client):
    client.services.volume.delete(_volume(client)['id'])


def _block_instance_dir(client):
    path = client.services.virt.instance_dir(_uuid(client))
    with open(path, 'w') as blocker:
        blocker.write('not a directory')


def _block_root_disk(client):
    os.mkdir(client.services.virt.root_disk_path(_uuid(client)))


def _never_booting(client):
    # libvirt's test driver runs no guest: nothing ever reaches a console.
    client.conf.set_override('wait_for_boot_timeout', 1, group='libvirt')


def _unsupported_connection(client):
    client.db.bdm_update(_uuid(client), 0, {'connection_info': {
        'driver_volume_type': 'fibre_channel', 'data': {}}})


def _undefine(client):
    client.services.virt.undefine(_uuid(client))


def _power_off(client):
    client.services.virt.destroy(_uuid(client))


def _corrupt_image(client):
    with open(client.services.image.path_of(client.test_image['id']),
              'r+b') as data:
        data.seek(4096)
        data.write(b'corrupted')


# case: (failing task, transition that provokes it, action, expected cause)
CASES = {
    'claim-resources': ('claim-resources', None, None, None, 'cannot fit'),
    'create-volume': ('create-volume-1', 'mark-building', 'SUCCESS',
                      lambda c: c.services.volume.snapshot_delete(
                          c.test_snapshot['id']),
                      'Snapshot .* could not be found'),
    'wait-volume-available': ('wait-volume-available-1', 'create-volume-1',
                              'SUCCESS', _remove_volume_file,
                              'did not finish being created.*status is '
                              'error'),
    'attach-volume': ('attach-volume-1', 'wait-volume-available-1',
                      'SUCCESS', _delete_volume,
                      'Volume .* could not be found'),
    'fetch-image-deleted': ('fetch-image', 'task-state-spawning', 'SUCCESS',
                            lambda c: c.services.image.delete(
                                c.test_image['id']),
                            'Image .* could not be found'),
    'fetch-image-corrupted': ('fetch-image', 'task-state-spawning',
                              'SUCCESS', _corrupt_image,
                              'failed checksum verification'),
    'create-config-drive': ('create-config-drive', 'task-state-spawning',
                            'SUCCESS', _block_instance_dir,
                            'File exists|Not a directory'),
    'create-root-disk': ('create-root-disk', 'fetch-image', 'SUCCESS',
                         _block_root_disk, 'exists and is not a file'),
    'build-guest-config': ('build-guest-config', 'create-root-disk',
                           'SUCCESS', _unsupported_connection,
                           "unsupported driver_volume_type 'fibre_channel'"),
    'define-domain': ('define-domain', 'build-guest-config', 'SUCCESS',
                      _conflicting_domain,
                      'libvirt refused the domain: .*already exists'),
    'start-domain': ('start-domain', 'define-domain', 'SUCCESS', _undefine,
                     'is not defined'),
    'wait-for-running': ('wait-for-running', 'start-domain', 'SUCCESS',
                         _power_off, 'is shutoff instead of running'),
    'wait-for-boot': ('wait-for-boot', 'wait-for-running', 'SUCCESS',
                      _never_booting, 'did not print its boot marker within '
                      r'1 seconds \(its console has 0 lines'),
}


@pytest.fixture
def snapshot_source(client):
    """A snapshot the snapshot->volume mapping starts from."""
    volume = client.services.volume.create('src', 1, {})
    snapshot = client.services.volume.snapshot_create(volume['id'], 'snap')
    client.test_snapshot = snapshot
    return snapshot


@pytest.mark.parametrize('case', sorted(CASES))
def test_failure_reverts_everything(client, image, snapshot_source, case):
    client.test_image = image
    failing_task, trigger, state, action, cause = CASES[case]
    if trigger:
        transitions.at(client, trigger, state, lambda: action(client))
    if failing_task == 'claim-resources':
        conftest.fill_host(client, image['id'])
    before = leaks.snapshot(client)

    server = client.build(
        'doomed', flavor='m1.tiny', image=image['id'], block_devices=[
            'source=snapshot,destination=volume,delete-on-termination=true,'
            'uuid=%s' % snapshot_source['id'], VOLUME])

    assert server['vm_state'] == 'error'
    assert server['task_state'] is None
    assert server['host'] is None  # claim released
    assert server['fault']['message'].startswith(failing_task + ' failed: ')
    assert re.search(cause, server['fault']['message']), server['fault']
    if failing_task == 'create-config-drive':
        # The test's own obstacle, not something the build made.
        os.unlink(client.services.virt.instance_dir(server['uuid']))
    if failing_task == 'create-volume-1':
        # The test deleted the snapshot to make the volume impossible.
        before['volume_files'] -= {'snapshots/%s.%s' % (
            snapshot_source['id'], ext) for ext in ('json', 'qcow2')}
    assert leaks.snapshot(client) == before
    for bdm in server['block_devices']:
        assert bdm['attachment_id'] is None
        assert bdm['connection_info'] is None
    _assert_reverted_in_reverse_order(client, server['uuid'], failing_task)


def _assert_reverted_in_reverse_order(client, uuid, failing_task):
    (action,) = client.actions(uuid)
    events = action['events']
    executed = [e['event'] for e in events
                if not e['event'].startswith('revert-')]
    reverted = [e['event'][len('revert-'):] for e in events
                if e['event'].startswith('revert-')]
    assert failing_task in executed
    assert {e['event']: e['result'] for e in events}[failing_task] == 'Error'
    # Every task that ran was reverted. TaskFlow may also revert a task of
    # a parallel branch that was due to run when the failure came but
    # never did (seen with attach-volume-2 when wait-volume-available-1
    # failed): reverts are idempotent, and the leak check above shows it
    # did nothing.
    assert set(executed) <= set(reverted), events
    assert len(reverted) == len(set(reverted)), events
    assert all(name[-1].isdigit() for name in set(reverted) - set(executed))
    assert all(e['result'] == 'Reverted' for e in events
               if e['event'].startswith('revert-'))
    # Tasks of the linear part run one after another; their reverts must
    # come in exactly the opposite order.
    linear = [name for name in executed if not name[-1].isdigit()]
    assert [n for n in reverted if n in linear] == linear[::-1]
    assert action['message'].startswith('Error: ')
