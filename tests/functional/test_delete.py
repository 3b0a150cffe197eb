"""``delete`` tears an instance down and keeps what the user keeps."""

import os
import subprocess
import sys

import pytest

from spawnflow import exception
from tests import conftest
from tests.functional import leaks


def test_delete_leaves_nothing_behind(client, image):
    before = leaks.snapshot(client)
    server = client.build('gone', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=1,'
                              'delete-on-termination=true',
                              'source=image,destination=volume,size=1,'
                              'delete-on-termination=true,uuid=%s'
                              % image['id']])
    assert server['vm_state'] == 'active'
    assert leaks.snapshot(client) != before

    client.delete(server['uuid'])

    with pytest.raises(exception.InstanceNotFound):
        client.show(server['uuid'])
    deleted = client.show(server['uuid'], read_deleted=True)
    assert deleted['vm_state'] == 'deleted' and deleted['host'] is None
    after = leaks.snapshot(client)
    # The image cache keeps its base (and who fetched it) for the next
    # build, as in Nova; image-cache clean removes it once unused.
    assert [e['path'] for e in client.services.image_cache.list()] == [
        client.services.image_cache.base_path(image['id'])]
    assert {f for f in after['instance_files']
            if not f.startswith('_base/')} == before['instance_files']
    assert {k: v for k, v in after.items() if k != 'instance_files'} == {
        k: v for k, v in before.items() if k != 'instance_files'}
    assert [a['action'] for a in client.actions(server['uuid'])] == [
        'create', 'delete']


def test_delete_keeps_volumes_without_delete_on_termination(client, image):
    existing = client.services.volume.create('data', 1, {})
    server = client.build('keeper', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=1',
                              'source=volume,destination=volume,uuid=%s'
                              % existing['id'],
                              'source=blank,destination=volume,size=1,'
                              'delete-on-termination=true'])
    bdms = server['block_devices']

    client.delete(server['uuid'])

    assert client.services.virt.state(server['uuid']) is None
    kept = [client.services.volume.get(bdms[i]['volume_id']) for i in (1, 2)]
    for volume in kept:
        assert volume['status'] == 'available'
        assert volume['attachments'] == []
    assert kept[1]['id'] == existing['id']
    with pytest.raises(exception.VolumeNotFound):
        client.services.volume.get(bdms[3]['volume_id'])
    remaining = {v['id'] for v in client.services.volume.list()}
    assert remaining == {existing['id'], bdms[1]['volume_id']}


def test_delete_of_errored_build_cleans_up(client, image):
    """An ERROR instance (failed build) deletes like any other."""
    occupant = conftest.fill_host(client, image['id'])
    server = client.build('err', flavor='m1.tiny', image=image['id'])
    assert server['vm_state'] == 'error'
    client.delete(server['uuid'])
    assert [i['uuid'] for i in client.list()] == [occupant['uuid']]


def test_delete_unknown_instance(client):
    with pytest.raises(exception.InstanceNotFound):
        client.delete('00000000-0000-0000-0000-000000000000')


@pytest.mark.parametrize('point', ['create-volume-1:after-execute',
                                   'fetch-image:before-execute'])
def test_delete_of_a_crashed_build_finishes_it_then_deletes(
        client, image, config_file, point):
    """A build killed mid-flow is BUILD with nobody running it: delete
    asks it to stop, resumes it (it reverts, everything it made goes) and
    returns only once the instance is deleted; never 0 having done
    nothing."""
    before = leaks.snapshot(client)
    killed = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', '--flavor', 'm1.tiny', '--image',
         image['id'], '--block-device', 'source=blank,destination=volume,'
         'size=1,delete-on-termination=true', 'crashed'],
        env=dict(os.environ, SPAWNFLOW_CRASH_AT=point),
        capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    (instance,) = client.db.instance_list()
    assert instance['vm_state'] == 'building'

    deleted = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'delete', instance['uuid']],
        capture_output=True, text=True, timeout=300)

    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stderr == ''
    assert client.list() == []
    assert client.show(instance['uuid'], read_deleted=True)[
        'vm_state'] == 'deleted'
    after = leaks.snapshot(client)
    assert after['volume_status'] == before['volume_status']
    assert {f for f in after['instance_files']
            if not f.startswith('_base')} == before['instance_files']
    assert client.orphans() == []
