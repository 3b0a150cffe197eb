"""The local image and volume stores on real files and qemu-img."""

from concurrent import futures
import os
import subprocess
import sys
import threading

import pytest

from spawnflow.drivers.volume import local
from spawnflow import exception


@pytest.mark.parametrize('image_id', ['../spawnflow', '/etc/passwd', 'x'])
def test_image_ids_outside_the_store_name_no_image(client, image_id):
    with pytest.raises(exception.ImageNotFound):
        client.image_show(image_id)
    # A build refuses them up front: image references are UUIDs or URLs.
    with pytest.raises(exception.InvalidRequest,
                       match='is not an image UUID nor an http'):
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
    with pytest.raises(exception.ImageError,
                       match='needs a disk of 2147483648 bytes; this one '
                             'has 1073741824'):
        client.services.volume.create('small', 1, {}, image_id=image['id'])
    (volume,) = client.services.volume.list()
    assert volume['status'] == 'error'


def test_image_cache_refuses_corrupted_data(client, image):
    with open(client.services.image.path_of(image['id']), 'r+b') as data:
        data.seek(100)
        data.write(b'corrupt')
    with pytest.raises(exception.ImageChecksumMismatch):
        client.services.image_cache.fetch(image['id'], 1024 ** 3)
    cache_dir = client.services.image_cache.base_dir
    assert os.listdir(cache_dir) == []  # no base, no partial file


def test_volume_being_created_reads_creating(client, monkeypatch):
    """While create() runs, others see ``creating`` (not interrupted)."""
    volume_driver = client.services.volume
    started, release = threading.Event(), threading.Event()
    real_qemu_img = local._qemu_img

    def slow_qemu_img(*args):
        started.set()
        assert release.wait(timeout=60)
        real_qemu_img(*args)

    monkeypatch.setattr(local, '_qemu_img', slow_qemu_img)
    with futures.ThreadPoolExecutor(max_workers=1) as executor:
        future = executor.submit(volume_driver.create, 'v', 1, {})
        assert started.wait(timeout=60)
        (volume,) = volume_driver.list()
        assert volume['status'] == 'creating'
        release.set()
        assert future.result(timeout=60)['status'] == 'available'


def test_volume_whose_creator_was_killed_reads_error(client, config_file):
    """A process killed while creating a volume leaves it ``error``, as
    Cinder does on restart; deleting it removes its partial file."""
    volume_driver = client.services.volume
    process = subprocess.run([sys.executable, '-c', KILLED_CREATOR,
                              config_file], capture_output=True, text=True,
                             timeout=60)
    assert process.returncode == -9, process.stderr
    (volume,) = volume_driver.list()
    assert volume['status'] == 'error'
    assert volume['error'] == 'creation interrupted: its process stopped'
    partial = [n for n in os.listdir(volume_driver.path)
               if n.startswith('.%s.' % volume['id'])]
    assert len(partial) == 1 and partial[0].endswith('.part')
    volume_driver.delete(volume['id'])
    assert volume_driver.list() == []
    assert sorted(os.listdir(volume_driver.path)) == ['locks']
    assert os.listdir(os.path.join(volume_driver.path, 'locks')) == []


# Creates a volume and dies (SIGKILL) while qemu-img would be making it.
KILLED_CREATOR = '''
import os, signal, sys
from spawnflow import api
from spawnflow import conf
from spawnflow.drivers.volume import local
local._qemu_img = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
api.Client(conf=conf.load(sys.argv[1:])).services.volume.create('v', 1, {})
'''
