"""End states a resumed build must reach."""

import os

from spawnflow.drivers.volume import base as volume_base
from tests.fixtures import libvirt_qemu
from tests.fixtures import openstack as osf


def volumes_of(client, uuid):
    return [v for v in client.services.volume.list()
            if v['metadata'].get(volume_base.INSTANCE_KEY) == uuid]


def assert_active(client, server, volume_indexes):
    """ACTIVE; one running domain; exactly one volume per volume block
    device, in-use with one attachment."""
    fault = server['fault'] or {}
    assert server['vm_state'] == 'active', (
        fault.get('message'), fault.get('details'))
    domains = [d for d in client.services.virt.list_instances()
               if d['uuid'] == server['uuid']]
    assert [d['state'] for d in domains] == ['running']
    volumes = volumes_of(client, server['uuid'])
    assert sorted(v['metadata'][volume_base.BDM_INDEX_KEY]
                  for v in volumes) == sorted(map(str, volume_indexes))
    for volume in volumes:
        assert volume['status'] == 'in-use'
        assert len(volume['attachments']) == 1


def assert_booted(client, uuid):
    """The guest printed its boot marker (once since its domain last
    started: the log starts anew with the domain), after reading its own
    instance id on its config drive."""
    lines = client.console_log(uuid)
    assert len([line for line in lines
                if line.startswith('Cloud-init v. ')]) == 1, lines
    assert (libvirt_qemu.GUEST_PREFIX + 'meta-data: instance-id: %s' % uuid
            in lines), lines


def assert_reverted(client, server, fail_at):
    """ERROR with a fault naming the failed task; nothing left."""
    assert server['vm_state'] == 'error'
    assert server['fault']['message'].startswith(fail_at + ' failed: ')
    assert_nothing_held(client, server['uuid'])


def assert_nothing_held(client, uuid):
    """No domain, volume, instance directory or cache entry."""
    assert_instance_gone(client, uuid)
    assert client.services.image_cache.list() == []


def assert_instance_gone(client, uuid):
    """No domain, volume or instance directory (a deleted instance's image
    stays cached, as in Nova)."""
    assert client.services.virt.state(uuid) is None
    assert volumes_of(client, uuid) == []
    assert not os.path.exists(client.services.virt.instance_dir(uuid))


def assert_nothing_left_after_delete(client, uuid):
    assert client.orphans() == []
    client.delete(uuid)
    assert client.orphans() == []
    # Cinder deletes asynchronously: wait (bounded) until they are gone.
    osf.wait_for(lambda: client.services.volume.list() == [], timeout=60,
                 what='volumes of %s deleted' % uuid)
