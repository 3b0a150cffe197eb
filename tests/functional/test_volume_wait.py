"""The volume wait against a volume that becomes available after a set
time, on real Cinder: volume GETs and detection delay, against Nova's
fixed 3 s polling run on the same Cinder in the same test."""

import datetime
import time

import pytest

from tests.functional import openstack

CREATE_SECONDS = 4.0
NOVA_INTERVAL = 3  # Nova's block_device_allocate_retries_interval


def _available_at(volume):
    """When Cinder marked the volume available (epoch seconds)."""
    updated = datetime.datetime.fromisoformat(volume.updated_at)
    return updated.replace(tzinfo=datetime.timezone.utc).timestamp()


def _nova_wait(cinder_client, volume_id):
    """Nova's _await_block_device_map_created: GET, sleep 3 s, repeat.

    Returns the GETs made and how long after the volume became available
    the loop noticed.
    """
    gets = 0
    while True:
        gets += 1
        volume = cinder_client.volumes.get(volume_id)
        if volume.status == 'available':
            return gets, time.time() - _available_at(volume)
        assert volume.status == 'creating'
        time.sleep(NOVA_INTERVAL)  # the baseline's own fixed interval


@pytest.fixture
def slow_cinder(cinder):
    cinder.set_create_delay(CREATE_SECONDS)
    yield cinder
    cinder.set_create_delay(0)


def test_wait_beats_nova_fixed_polling(tmp_path, glance, glance_client,
                                       rabbitmq, slow_cinder, capsys):
    cinder_client = slow_cinder.client(service_roles=True)
    volume = cinder_client.volumes.create(1, name='nova-style-wait')
    nova_gets, nova_delay = _nova_wait(cinder_client, volume.id)
    cinder_client.volumes.delete(volume.id)

    image = openstack.upload_qcow2(glance_client, tmp_path)
    extra = ('[DEFAULT]\nblock_device_allocate_retries = 60\n'
             'block_device_allocate_retries_interval = %d\n'
             '[cinder]\nnotification_transport_url = %s\n'
             % (NOVA_INTERVAL, rabbitmq.transport_url))
    with openstack.client(tmp_path, glance, slow_cinder, extra) as client:
        volume_driver = client.services.volume
        gets = []
        noticed = {}
        real_get = volume_driver.get

        def counted_get(volume_id):
            """Count the wait's GETs; note when it first saw 'available'
            (and when Cinder says that happened: the volume's updated_at,
            read before the attach changes it)."""
            gets.append(volume_id)
            volume = real_get(volume_id)
            if volume['status'] == 'available' and volume_id not in noticed:
                noticed[volume_id] = (time.time(), _available_at(
                    cinder_client.volumes.get(volume_id)))
            return volume

        volume_driver.get = counted_get
        server = client.build('waits', flavor='m1.tiny', image=image['id'],
                              block_devices=[
                                  'source=blank,destination=volume,size=1,'
                                  'delete-on-termination=true'])
        assert server['vm_state'] == 'active', server['fault']['message']
        volume_id = server['block_devices'][1]['volume_id']
        seen_at, available_at = noticed[volume_id]
        delay = seen_at - available_at
        wait_gets = gets.count(volume_id)
        client.delete(server['uuid'])

    with capsys.disabled():
        print('\nvolume available after %.1f s: spawnflow %d GETs, detected '
              'after %.2f s; Nova fixed %d s polling %d GETs, %.2f s'
              % (CREATE_SECONDS, wait_gets, delay, NOVA_INTERVAL, nova_gets,
                 nova_delay))
    assert wait_gets < nova_gets
    assert delay < nova_delay
