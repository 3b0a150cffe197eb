"""Faults against real Glance and Cinder: each build ends ERROR with a fault
naming the cause, and Cinder and the image cache are left clean."""

import os
import re

import pytest

from tests.fixtures import openstack as osf
from tests.functional import openstack
from tests.functional import transitions


@pytest.fixture
def image(glance_client, tmp_path):
    return openstack.upload_qcow2(glance_client, tmp_path)


def _client(tmp_path, glance, cinder, retries=5, interval=1):
    return openstack.client(tmp_path, glance, cinder, extra=(
        '[DEFAULT]\nblock_device_allocate_retries = %d\n'
        'block_device_allocate_retries_interval = %d\n'
        % (retries, interval)))


def _volumes_of(cinder_client, server):
    return cinder_client.volumes.list(search_opts={'metadata': {
        'spawnflow_instance_uuid': server['uuid']}})


def _assert_clean(client, cinder_client, server):
    """No volume of the instance left (or kept and recorded), no
    attachment, no domain, nothing in the image cache."""
    recorded = {b['volume_id'] for b in server['block_devices']
                if b['volume_id']}
    # Cinder finishes deletes asynchronously: the volumes the revert
    # deleted must go (bounded wait); any other would be an orphan.
    osf.wait_for(lambda: {v.id for v in _volumes_of(cinder_client, server)}
                 <= recorded, timeout=60,
                 what='volumes of %s not recorded deleted' % server['uuid'])
    for volume in _volumes_of(cinder_client, server):
        assert volume.attachments == []
    assert client.services.virt.state(server['uuid']) is None
    base_dir = client.services.image_cache.base_dir
    assert not os.path.isdir(base_dir) or os.listdir(base_dir) == []


def _reset_at_create(client, cinder_client, state):
    """Once create-volume-1 is done and Cinder has made the volume, force
    it into ``state`` (admin reset-state) before the wait looks at it."""
    def reset():
        (instance,) = client.db.instance_list()
        volume_id = client.db.bdm_get(instance['uuid'], 1)['volume_id']
        osf.wait_for(lambda: cinder_client.volumes.get(volume_id).status
                     == 'available', timeout=60, what='volume created')
        cinder_client.volumes.reset_state(volume_id, state)
    transitions.at(client, 'create-volume-1', 'SUCCESS', reset)


@pytest.mark.parametrize('delete_on_termination', [True, False])
def test_volume_forced_to_error_while_waiting(tmp_path, glance, cinder,
                                              cinder_client, image,
                                              delete_on_termination):
    with _client(tmp_path, glance, cinder) as client:
        _reset_at_create(client, cinder_client, 'error')
        server = client.build('err-vol', flavor='m1.tiny', image=image['id'],
                              block_devices=[
                                  'source=blank,destination=volume,size=1,'
                                  'delete-on-termination=%s'
                                  % delete_on_termination])
        assert server['vm_state'] == 'error'
        assert server['fault']['message'].startswith(
            'wait-volume-available-1 failed: ')
        assert 'Its status is error' in server['fault']['message']
        _assert_clean(client, cinder_client, server)
        # A volume in error holds no data: it goes whether or not the
        # user asked to keep the volume (so no error volume outlives the
        # instance unseen).
        assert server['block_devices'][1]['volume_id'] is None
        assert all(v.status == 'deleting'
                   for v in _volumes_of(cinder_client, server))


def test_volume_never_leaves_creating(tmp_path, glance, cinder,
                                      cinder_client, image):
    with _client(tmp_path, glance, cinder, retries=2, interval=1) as client:
        _reset_at_create(client, cinder_client, 'creating')
        server = client.build('slow-vol', flavor='m1.tiny',
                              image=image['id'], block_devices=[
                                  'source=blank,destination=volume,size=1,'
                                  'delete-on-termination=true'])
        message = server['fault']['message']
        assert message.startswith('wait-volume-available-1 failed: ')
        assert 'Its status is creating' in message
        # The 2 x 1 s budget, plus the last poll's time on a busy host.
        waited = float(re.search(r'even after we waited ([\d.]+) seconds',
                                 message).group(1))
        assert 2.0 <= waited < 10.0
        _assert_clean(client, cinder_client, server)
        assert server['block_devices'][1]['volume_id'] is None  # deleted


def test_image_deleted_before_download(tmp_path, glance, cinder,
                                       cinder_client, glance_client, image):
    with _client(tmp_path, glance, cinder) as client:
        transitions.at(client, 'task-state-spawning', 'SUCCESS',
                       lambda: glance_client.images.delete(image['id']))
        server = client.build('no-image', flavor='m1.tiny',
                              image=image['id'], block_devices=[
                                  'source=blank,destination=volume,size=1,'
                                  'delete-on-termination=true'])
        assert server['fault']['message'] == (
            'fetch-image failed: Image %s could not be found.' % image['id'])
        _assert_clean(client, cinder_client, server)


def test_image_data_corrupted_in_glance_store(tmp_path, glance, cinder,
                                              cinder_client, image):
    with open(os.path.join(glance.store_dir, image['id']), 'r+b') as data:
        data.seek(8192)
        data.write(b'bit rot')
    with _client(tmp_path, glance, cinder) as client:
        server = client.build('rot', flavor='m1.tiny', image=image['id'])
        message = server['fault']['message']
        assert message.startswith('fetch-image failed: Image %s failed '
                                  'checksum verification' % image['id'])
        assert 'sha512' in message  # Glance's os_hash_value
        _assert_clean(client, cinder_client, server)


def test_image_format_differs_from_disk_format(tmp_path, glance, cinder,
                                               cinder_client, glance_client):
    """qcow2 data declared raw: Glance accepts it, spawnflow must not (a
    qcow2 header read as raw can point the guest at host files)."""
    lying = openstack.upload_qcow2(glance_client, tmp_path, name='lying',
                                   disk_format='raw')
    with _client(tmp_path, glance, cinder) as client:
        server = client.build('liar', flavor='m1.tiny', image=lying['id'])
        assert server['fault']['message'] == (
            'fetch-image failed: Image %s claims disk_format raw but its '
            'data is qcow2.' % lying['id'])
        _assert_clean(client, cinder_client, server)
