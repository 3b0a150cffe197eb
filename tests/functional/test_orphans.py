"""``orphans list|reap``: tagged resources no instance accounts for are
found and removed; what an instance (even a deleted one) accounts for is
left alone."""

import os
import uuid as uuidlib

from spawnflow.drivers.virt import guest_config
from spawnflow.drivers.volume import base as volume_base


def _stray_domain(client, uuid):
    client.services.virt.define(guest_config.build(
        {'uuid': uuid, 'display_name': 'stray', 'flavor_name': 'm1.tiny',
         'vcpus': 1, 'memory_mb': 64, 'root_gb': 1}, [], 'kvm'))


def test_orphans_found_and_reaped(client, image):
    kept = client.build('keeps-its-volume', flavor='m1.tiny',
                        image=image['id'], block_devices=[
                            'source=blank,destination=volume,size=1'])
    kept_volume = kept['block_devices'][1]['volume_id']
    client.delete(kept['uuid'])  # delete_on_termination false: kept
    live = client.build('live', flavor='m1.tiny', image=image['id'])
    assert client.orphans() == []

    ghost = str(uuidlib.uuid4())
    _stray_domain(client, ghost)
    stray_volume = client.services.volume.create(
        volume_base.volume_name(ghost, 1), 1,
        volume_base.volume_metadata(ghost, 1))
    duplicate = client.services.volume.create(  # a second volume, same tag
        volume_base.volume_name(live['uuid'], 1), 1,
        volume_base.volume_metadata(live['uuid'], 1))
    ghost_dir = os.path.join(client.conf.instances_path, ghost)
    os.makedirs(ghost_dir)

    found = {(o.kind, o.id) for o in client.orphans()}
    assert found == {('domain', ghost), ('volume', stray_volume['id']),
                     ('volume', duplicate['id']),
                     ('instance-files', ghost_dir)}

    assert {(o.kind, o.id) for o in client.reap_orphans()} == found
    assert client.orphans() == []
    assert client.services.virt.state(ghost) is None
    assert not os.path.exists(ghost_dir)
    remaining = {v['id'] for v in client.services.volume.list()}
    assert remaining == {kept_volume}
    assert client.services.virt.state(live['uuid']) == 'running'
