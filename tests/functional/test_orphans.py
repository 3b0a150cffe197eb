"""``orphans list|reap``: this deployment's tagged resources that no
instance accounts for are found and removed; what an instance (even a
deleted one) accounts for, and whatever another deployment made, is left
alone."""

import os
import time
import uuid as uuidlib

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.drivers.virt import guest_config
from spawnflow.drivers.volume import base as volume_base
from spawnflow import objects
from spawnflow import orphans
from tests import conftest
from tests.functional import openstack


def _stray_domain(client, uuid, deployment):
    client.services.virt.define(guest_config.build(
        {'uuid': uuid, 'display_name': 'stray', 'flavor_name': 'm1.tiny',
         'vcpus': 1, 'memory_mb': 64, 'root_gb': 1}, [], 'kvm', deployment))


def _tagged_volume(client, deployment, instance_uuid):
    return client.services.volume.create(
        volume_base.volume_name(instance_uuid, 1), 1,
        volume_base.volume_metadata(deployment, instance_uuid, 1))


def test_orphans_found_and_reaped(client, image):
    kept = client.build('keeps-its-volume', flavor='m1.tiny',
                        image=image['id'], block_devices=[
                            'source=blank,destination=volume,size=1'])
    kept_volume = kept['block_devices'][1]['volume_id']
    client.delete(kept['uuid'])  # delete_on_termination false: kept
    live = client.build('live', flavor='m1.tiny', image=image['id'])
    assert client.orphans() == []

    ours = client.services.deployment
    ghost = str(uuidlib.uuid4())
    _stray_domain(client, ghost, ours)
    stray_volume = _tagged_volume(client, ours, ghost)
    duplicate = _tagged_volume(client, ours, live['uuid'])  # same tag
    deleted_dir = client.services.virt.instance_dir(kept['uuid'])
    os.makedirs(deleted_dir)  # left by a crashed delete

    found = {(o.kind, o.id) for o in client.orphans()}
    assert found == {('domain', ghost), ('volume', stray_volume['id']),
                     ('volume', duplicate['id']),
                     ('instance-files', deleted_dir)}

    assert {(o.kind, o.id) for o in client.reap_orphans()} == found
    assert client.orphans() == []
    assert client.services.virt.state(ghost) is None
    assert not os.path.exists(deleted_dir)
    remaining = {v['id'] for v in client.services.volume.list()}
    assert remaining == {kept_volume}
    assert client.services.virt.state(live['uuid']) == 'running'


def test_another_deployments_resources_are_never_orphans(client, image):
    """What another deployment (or no deployment) made is not this one's
    to judge: domains and volumes with another tag or none, directories
    of instances this database never had."""
    other = 'another-deployment'
    ghost = str(uuidlib.uuid4())
    _stray_domain(client, ghost, other)
    foreign_volume = _tagged_volume(client, other, ghost)
    untagged = client.services.volume.create(
        volume_base.volume_name(ghost, 2), 1,
        {volume_base.INSTANCE_KEY: ghost, volume_base.BDM_INDEX_KEY: '2'})
    foreign_dir = client.services.virt.instance_dir(ghost)
    os.makedirs(foreign_dir)

    assert client.orphans() == []
    assert client.reap_orphans() == []
    assert client.services.virt.state(ghost) == 'shutoff'
    assert {v['id'] for v in client.services.volume.list()} == {
        foreign_volume['id'], untagged['id']}
    assert os.path.isdir(foreign_dir)


def test_deployment_tag_is_stored_by_db_sync_and_configurable(
        client, tmp_path):
    stored = client.services.deployment
    assert uuidlib.UUID(stored)
    client.db_sync()  # idempotent: the tag stays
    assert client.db.deployment_tag() == stored
    config = conftest.write_config(
        tmp_path / 'tagged.conf', tmp_path / 'state',
        extra='[DEFAULT]\ndeployment_tag = region-one.cell_2\n')
    with api.Client(conf=spawnflow_conf.load([config])) as tagged:
        assert tagged.services.deployment == 'region-one.cell_2'


def test_two_deployments_on_one_cinder_reap_only_their_own(
        tmp_path, glance, glance_client, cinder):
    """Two spawnflow databases on one Cinder project: each sees only its
    own orphans, and reaping from one leaves the other's volumes (the
    in-use one among them) alone."""
    image = openstack.upload_qcow2(glance_client, tmp_path)
    project = uuidlib.uuid4().hex
    clients = []
    for name in ('one', 'two'):
        directory = tmp_path / name
        directory.mkdir()
        config = openstack.config(directory, glance, cinder,
                                  project_id=project)
        client = api.Client(conf=spawnflow_conf.load([config]))
        client.db_sync()
        clients.append(client)
    one, two = clients
    try:
        assert one.services.deployment != two.services.deployment
        server = two.build('in-use', flavor='m1.tiny', image=image['id'],
                           block_devices=[
                               'source=blank,destination=volume,size=1,'
                               'delete-on-termination=true'])
        assert server['vm_state'] == 'active', server['fault']
        in_use = server['block_devices'][1]['volume_id']
        stray = _tagged_volume(one, one.services.deployment,
                               str(uuidlib.uuid4()))

        assert [(o.kind, o.id) for o in one.orphans()] == [
            ('volume', stray['id'])]
        assert two.orphans() == []
        one.reap_orphans()

        assert two.services.volume.get(in_use)['status'] == 'in-use'
        assert one.orphans() == []
        two.delete(server['uuid'])
    finally:
        for client in clients:
            client.close()


def test_reap_looks_again_before_removing(client, image):
    """What find() listed may be accounted for by the time reap() comes to
    it (an instance recorded meanwhile): reap looks again, under the
    instance's owner lock, and leaves it."""
    ours = client.services.deployment
    late = str(uuidlib.uuid4())
    volume = _tagged_volume(client, ours, late)
    stale = client.orphans()
    assert [(o.kind, o.id) for o in stale] == [('volume', volume['id'])]

    # The instance is recorded, with the volume on its mapping, after
    # find() looked.
    request = objects.BuildRequest(
        name='late', flavor=objects.Flavor.named('m1.tiny'),
        block_device_mappings=[objects.BlockDeviceMapping(
            'volume', 'volume', uuid=volume['id'], boot_index=0)])
    client.db.instance_create(late, request, vm_state='active',
                              task_state=None)

    assert orphans.reap(client.services, client.engine.owners, stale) == []
    assert client.services.volume.get(volume['id'])['status'] == 'available'


def test_stale_partial_file_in_a_live_instance_directory(client, image):
    """Temporary files are dot files (.disk.XXXX.part): found too."""
    live = client.build('live', flavor='m1.tiny', image=image['id'])
    stale = os.path.join(client.services.virt.instance_dir(live['uuid']),
                         '.disk.k1ll3d.part')
    with open(stale, 'w') as stream:
        stream.write('left by a killed build')
    an_hour_ago = time.time() - orphans.PART_MAX_AGE - 60
    os.utime(stale, (an_hour_ago, an_hour_ago))

    assert [(o.kind, o.id) for o in client.orphans()] == [
        ('partial-file', stale)]
    client.reap_orphans()
    assert not os.path.exists(stale)
    assert client.services.virt.state(live['uuid']) == 'running'


class _UndefinedOnceRead:
    """A listed domain that its delete elsewhere undefines once its XML
    has been read."""

    def __init__(self, domain, virt):
        self._domain = domain
        self._virt = virt

    def XMLDesc(self):
        xml = self._domain.XMLDesc()
        self._virt.undefine(self._domain.UUIDString())
        return xml

    def __getattr__(self, name):
        return getattr(self._domain, name)


@pytest.mark.parametrize('when', ['before-its-xml', 'after-its-xml'])
def test_a_domain_undefined_while_listed_is_left_out(client, image, when):
    """Domains listed, then one undefined (by its delete, elsewhere)
    before its XML is read, or between that and the read of its state (a
    conductor's delete while the crash tests' checks listed domains): the
    listing goes on without it."""
    kept = client.build('kept', flavor='m1.tiny', image=image['id'])
    gone = client.build('gone', flavor='m1.tiny', image=image['id'])
    virt = client.services.virt
    list_all = virt.conn.listAllDomains

    def listed_then_one_undefined():
        domains = list_all()
        if when == 'before-its-xml':
            virt.undefine(gone['uuid'])
            return domains
        return [_UndefinedOnceRead(d, virt)
                if d.UUIDString() == gone['uuid'] else d for d in domains]
    virt.conn.listAllDomains = listed_then_one_undefined
    try:
        uuids = {domain['uuid'] for domain in virt.list_instances()}
    finally:
        virt.conn.listAllDomains = list_all
    assert kept['uuid'] in uuids and gone['uuid'] not in uuids


def _scan_statements(client):
    """orphans.find's result and how many SQL statements it ran."""
    statements = []

    def seen(*args):
        statements.append(args[2])
    sa.event.listen(client.db.engine, 'before_cursor_execute', seen)
    try:
        found = orphans.find(client.services)
    finally:
        sa.event.remove(client.db.engine, 'before_cursor_execute', seen)
    return found, len(statements)


def test_the_scan_reads_what_exists_not_every_build_recorded(client,
                                                             image):
    """Deleted builds cost the scan nothing: it reads only the instances
    and block devices the resources it found name."""
    client.build('live', flavor='m1.tiny', image=image['id'],
                 block_devices=['source=blank,destination=volume,size=1,'
                                'delete-on-termination=true'])
    stray = str(uuidlib.uuid4())
    _stray_domain(client, stray, client.services.deployment)
    found, statements = _scan_statements(client)
    assert [(o.kind, o.id) for o in found] == [('domain', stray)]

    request = objects.BuildRequest('history', objects.Flavor.named('m1.tiny'),
                                   image_ref=image['id'])
    for _ in range(50):
        uuid = str(uuidlib.uuid4())
        client.db.instance_create(uuid, request, 'active', None)
        client.db.instance_soft_delete(uuid)
    assert _scan_statements(client) == (found, statements)
