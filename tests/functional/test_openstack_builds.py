"""Builds against real Glance and Cinder on loopback (libvirt test driver;
the fake Cinder backend stores no data, its API and state machine are real).
"""

from cinderclient import exceptions as cinder_exceptions
import pytest

from spawnflow import exception
from tests.fixtures import openstack as osf
from tests.functional import openstack


@pytest.fixture
def client(tmp_path, glance, cinder):
    with openstack.client(tmp_path, glance, cinder) as client:
        yield client


@pytest.fixture(scope='module')
def image(glance_client, tmp_path_factory):
    return openstack.upload_qcow2(glance_client,
                                  tmp_path_factory.mktemp('image'))


def _volume(cinder_client, volume_id):
    return cinder_client.volumes.get(volume_id)


def _assert_in_use_once(cinder_client, server, bdm):
    volume = _volume(cinder_client, bdm['volume_id'])
    assert volume.status == 'in-use'
    assert [a['server_id'] for a in volume.attachments] == [server['uuid']]
    assert volume.attachments[0]['attachment_id'] == bdm['attachment_id']


def test_boot_from_glance_image_to_new_cinder_volume(client, cinder_client,
                                                     image):
    server = client.build('bfv', flavor='m1.tiny', block_devices=[
        'source=image,destination=volume,size=1,boot-index=0,'
        'delete-on-termination=true,uuid=%s' % image['id']])
    assert server['vm_state'] == 'active', server['fault']['message']
    (bdm,) = server['block_devices']
    _assert_in_use_once(cinder_client, server, bdm)
    volume = _volume(cinder_client, bdm['volume_id'])
    assert volume.volume_image_metadata['image_id'] == image['id']
    assert volume.metadata['spawnflow_instance_uuid'] == server['uuid']
    assert 'vda' in client.services.virt.xml(server['uuid'])

    client.delete(server['uuid'])
    _wait_gone(cinder_client, bdm['volume_id'])  # delete_on_termination


def test_existing_and_blank_cinder_volumes(client, cinder_client, image):
    existing = cinder_client.volumes.create(1, name='spawnflow-existing')
    _wait_status(cinder_client, existing.id, 'available')
    server = client.build('attach', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=volume,destination=volume,uuid=%s'
                              % existing.id,
                              'source=blank,destination=volume,size=1'])
    assert server['vm_state'] == 'active', server['fault']['message']
    for bdm in server['block_devices'][1:]:
        _assert_in_use_once(cinder_client, server, bdm)
    blank_id = server['block_devices'][2]['volume_id']

    client.delete(server['uuid'])

    for volume_id in (existing.id, blank_id):  # delete_on_termination false
        volume = _volume(cinder_client, volume_id)
        assert volume.status == 'available' and volume.attachments == []
        cinder_client.volumes.delete(volume_id)


def _wait_status(cinder_client, volume_id, status):
    osf.wait_for(lambda: _volume(cinder_client, volume_id).status == status,
                 timeout=60, what='volume %s %s' % (volume_id, status))


def _wait_gone(cinder_client, volume_id):
    def gone():
        try:
            _volume(cinder_client, volume_id)
        except cinder_exceptions.NotFound:
            return True
        return False
    osf.wait_for(gone, timeout=60, what='volume %s deleted' % volume_id)


def test_cinder_snapshot_to_volume(client, cinder_client, image):
    source = cinder_client.volumes.create(1, name='spawnflow-snap-source')
    _wait_status(cinder_client, source.id, 'available')
    snapshot = cinder_client.volume_snapshots.create(source.id)
    osf.wait_for(lambda: cinder_client.volume_snapshots.get(
        snapshot.id).status == 'available', timeout=60,
        what='snapshot available')
    server = client.build('from-snap', flavor='m1.tiny', block_devices=[
        'source=snapshot,destination=volume,boot-index=0,'
        'delete-on-termination=true,uuid=%s' % snapshot.id])
    assert server['vm_state'] == 'active', server['fault']['message']
    (bdm,) = server['block_devices']
    _assert_in_use_once(cinder_client, server, bdm)
    assert _volume(cinder_client, bdm['volume_id']).snapshot_id == (
        snapshot.id)
    client.delete(server['uuid'])
    _wait_gone(cinder_client, bdm['volume_id'])
    cinder_client.volume_snapshots.delete(snapshot.id)


def test_glance_image_without_data_is_refused(client, glance_client):
    queued = glance_client.images.create(name='no-data', disk_format='raw',
                                         container_format='bare')
    with pytest.raises(exception.InvalidRequest, match='is queued, not '
                                                       'active'):
        client.build('queued', flavor='m1.tiny', image=queued['id'])
    assert client.list() == []


def test_user_volume_and_image_deletes(client, cinder, cinder_client,
                                       glance_client, tmp_path):
    """volume create/delete and image delete on Cinder and Glance: the
    volume carries no spawnflow tags (never an orphan), one still being
    created is refused, and a delete of a gone image is a no-op."""
    cinder.set_create_delay(3)
    try:
        volume = client.volume_create('mine', 1)
        assert volume['metadata'] == {}
        with pytest.raises(exception.InvalidRequest, match='is creating'):
            client.volume_delete(volume['id'])
    finally:
        cinder.set_create_delay(0)
    _wait_status(cinder_client, volume['id'], 'available')
    assert client.orphans() == []
    client.volume_delete(volume['id'])
    _wait_gone(cinder_client, volume['id'])

    image = openstack.upload_qcow2(glance_client, tmp_path, name='doomed')
    client.image_delete(image['id'])
    with pytest.raises(exception.ImageNotFound):
        client.image_show(image['id'])
    client.image_delete(image['id'])  # the answer to a first try was lost
