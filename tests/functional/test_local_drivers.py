"""The local image and volume stores on real files and qemu-img."""

import os

import pytest

from spawnflow import exception


@pytest.mark.parametrize('image_id', ['../spawnflow', '/etc/passwd', 'x'])
def test_image_ids_outside_the_store_name_no_image(client, image_id):
    with pytest.raises(exception.ImageNotFound):
        client.image_show(image_id)
    with pytest.raises(exception.ImageNotFound):
        client.build('x', flavor='m1.tiny', image=image_id)
    assert client.list() == []


@pytest.mark.parametrize('volume_id', ['../x', '/etc/passwd'])
def test_volume_and_snapshot_ids_outside_the_store(client, volume_id):
    with pytest.raises(exception.VolumeNotFound):
        client.services.volume.get(volume_id)
    with pytest.raises(exception.SnapshotNotFound):
        client.services.volume.snapshot_get(volume_id)


def test_volume_lifecycle(client):
    volume_driver = client.services.volume
    volume = volume_driver.create('v', 1, {'k': 'v'})
    assert volume['status'] == 'available' and os.path.exists(volume['path'])
    attachment = volume_driver.attachment_create(volume['id'], 'inst',
                                                 {'host': 'h'})
    assert volume_driver.get(volume['id'])['status'] == 'attaching'
    assert attachment['connection_info']['data']['device_path'] == (
        volume['path'])
    volume_driver.attachment_complete(attachment['id'])
    assert volume_driver.get(volume['id'])['status'] == 'in-use'
    with pytest.raises(exception.VolumeError, match='is attached'):
        volume_driver.delete(volume['id'])
    assert volume_driver.attachment_find(volume['id'], 'inst')['id'] == (
        attachment['id'])
    volume_driver.attachment_delete(attachment['id'])
    volume_driver.attachment_delete(attachment['id'])  # idempotent
    assert volume_driver.get(volume['id'])['status'] == 'available'
    volume_driver.delete(volume['id'])
    volume_driver.delete(volume['id'])  # idempotent
    assert volume_driver.list() == []


def test_volume_smaller_than_its_image_fails_in_error(client, tmp_path):
    from tests.conftest import make_qcow2
    image = client.image_create('big', make_qcow2(tmp_path / 'b.qcow2', '2G'),
                                'qcow2')
    with pytest.raises(exception.VolumeError, match='qemu-img resize'):
        client.services.volume.create('small', 1, {}, image_id=image['id'])
    (volume,) = client.services.volume.list()
    assert volume['status'] == 'error'


def test_image_cache_refuses_corrupted_data(client, image):
    with open(client.services.image.path_of(image['id']), 'r+b') as data:
        data.seek(100)
        data.write(b'corrupt')
    with pytest.raises(exception.ImageChecksumMismatch):
        client.services.image_cache.fetch(image['id'])
    cache_dir = client.services.image_cache.base_dir
    assert os.listdir(cache_dir) == []  # no base, no partial file
