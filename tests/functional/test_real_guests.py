"""Real guests: the tiny test guest (tools/tiny-guest) booted by
``spawnflow server create`` on qemu:///system under TCG, from the local
image store, from a local volume, and from a Glance image to a Cinder
volume; then deleted, leaving nothing behind. A guest that never says it
booted fails its build, which is reverted.

The guest's init prints what it reads on its config drive, and then
cloud-init's "finished" line, the boot marker the build waits for.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import uuid as uuidlib

import libvirt
import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests import conftest
from tests.fixtures import libvirt_qemu
from tests.fixtures import openstack as osf
from tests.functional import openstack

GUEST = libvirt_qemu.GUEST_PREFIX
FLAVOR = ['--vcpus', '1', '--ram', '128', '--disk', '1']
SESSION = 'qemu:///session'
BOOT_FROM_VOLUME = ('source=image,destination=volume,size=1,boot-index=0,'
                    'delete-on-termination=true,uuid=%s')


def _libvirt(qemu_uri, boot_timeout=120, marker=None):
    lines = ['[libvirt]', 'connection_uri = %s' % qemu_uri,
             'virt_type = qemu',
             'wait_for_boot_timeout = %d' % boot_timeout]
    if marker:
        lines.append('boot_marker = %s' % marker)
    return '\n'.join(lines) + '\n'


class Cloud:
    """A spawnflow configuration on qemu:///system, and its CLI."""

    def __init__(self, workdir, config):
        self.workdir = workdir
        self.config = config

    def client(self):
        return api.Client(conf=spawnflow_conf.load([self.config]))

    def cli(self, *args):
        result = subprocess.run(
            [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
             self.config, *args], capture_output=True, text=True,
            timeout=300)
        assert 'Traceback' not in result.stderr, result.stderr
        return result

    def create(self, name, *args):
        result = self.cli('server', 'create', *FLAVOR, *args, '-f', 'json',
                          name)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def upload_tiny_guest(glance_client, path):
    """Upload the tiny guest to Glance as a qcow2 image; its id."""
    image = glance_client.images.create(name='tiny-guest',
                                        disk_format='qcow2',
                                        container_format='bare')
    with open(path, 'rb') as data:
        glance_client.images.upload(image['id'], data)
    return image['id']


def _tear_down(cloud):
    with cloud.client() as client:
        for instance in client.db.instance_list(read_deleted=True):
            client.services.virt.undefine(instance['uuid'])
    shutil.rmtree(cloud.workdir)


@pytest.fixture
def session_uri():
    """qemu:///session (libvirt starts its per-user daemon itself)."""
    try:
        libvirt.open(SESSION).close()
    except libvirt.libvirtError as error:
        pytest.skip('%s unavailable: %s'
                    % (SESSION, error.get_error_message()))
    return SESSION


@pytest.fixture(params=['system', 'session'])
def local_cloud(request, tiny_guest):
    """Local image and volume stores, the tiny guest in the image store,
    on qemu:///system (and, for the first test, qemu:///session)."""
    uri = request.getfixturevalue(
        'session_uri' if request.param == 'session' else 'qemu_uri')
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    cloud = Cloud(workdir, conftest.write_config(
        workdir / 'spawnflow.conf', workdir / 'state',
        extra=_libvirt(uri)))
    with cloud.client() as client:
        client.db_sync()
        cloud.image = client.image_create('tiny-guest', tiny_guest, 'qcow2')
    yield cloud
    _tear_down(cloud)


@pytest.fixture
def openstack_cloud(qemu_uri, tiny_guest, glance, glance_client, cinder):
    """Glance and Cinder of the test run (a project of this test's own),
    the tiny guest uploaded to Glance."""
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    cloud = Cloud(workdir, openstack.config(
        workdir, glance, cinder, project_id=uuidlib.uuid4().hex,
        extra=_libvirt(qemu_uri)))
    with cloud.client() as client:
        client.db_sync()
    cloud.image = glance_client.images.get(
        upload_tiny_guest(glance_client, tiny_guest))
    yield cloud
    _tear_down(cloud)
    glance_client.images.delete(cloud.image['id'])


def _boot_and_delete(cloud, tmp_path, name, *source):
    """Build ``name`` from ``source`` with user-data, check what the guest
    printed, delete it, and check that nothing is left."""
    nonce = uuidlib.uuid4().hex
    user_data = tmp_path / 'user-data'
    user_data.write_bytes(b'#cloud-config\n# spawnflow test %s\n' % (
        nonce.encode()))
    server = cloud.create(name, *source, '--user-data', str(user_data))
    assert server['status'] == 'ACTIVE'
    uuid = server['id']

    console = cloud.cli('console', 'log', uuid)
    assert console.returncode == 0, console.stderr
    lines = console.stdout.splitlines()
    assert GUEST + 'meta-data: instance-id: %s' % uuid in lines
    assert GUEST + 'meta-data: local-hostname: %s' % name in lines
    assert GUEST + 'user-data: # spawnflow test %s' % nonce in lines
    [marker] = [line for line in lines if line.startswith('Cloud-init v. ')]
    assert 'finished at' in marker
    assert lines.index(marker) > lines.index(
        GUEST + 'user-data: # spawnflow test %s' % nonce)
    last = cloud.cli('console', 'log', uuid, '--lines', '2')
    assert last.stdout.splitlines() == lines[-2:]

    with cloud.client() as client:
        assert libvirt_qemu.qemu_processes(uuid)
        directory = client.services.virt.instance_dir(uuid)
        assert os.path.exists(os.path.join(directory, 'disk.config'))
        volumes = [b['volume_id'] for b in client.show(uuid)['block_devices']
                   if b['volume_id']]

    deleted = cloud.cli('server', 'delete', uuid)
    assert deleted.returncode == 0, deleted.stderr
    with cloud.client() as client:
        assert libvirt_qemu.qemu_processes(uuid) == []
        assert client.services.virt.state(uuid) is None
        assert not os.path.exists(directory)
        for volume_id in volumes:
            with pytest.raises(Exception, match='could not be found'):
                client.services.volume.get(volume_id)
        assert client.orphans() == []
        assert client.list() == []
    return volumes


def test_tiny_guest_from_the_local_image_store(local_cloud, tmp_path):
    """On qemu:///system and on qemu:///session."""
    volumes = _boot_and_delete(local_cloud, tmp_path, 'tiny-1',
                               '--image', local_cloud.image['id'])
    assert volumes == []


@pytest.mark.parametrize('local_cloud', ['system'], indirect=True)
def test_tiny_guest_from_a_local_volume(local_cloud, tmp_path):
    volumes = _boot_and_delete(
        local_cloud, tmp_path, 'tiny-2', '--block-device',
        BOOT_FROM_VOLUME % local_cloud.image['id'])
    assert len(volumes) == 1


def test_tiny_guest_from_glance_to_a_cinder_volume(openstack_cloud,
                                                   tmp_path):
    volumes = _boot_and_delete(
        openstack_cloud, tmp_path, 'tiny-3', '--block-device',
        BOOT_FROM_VOLUME % openstack_cloud.image['id'])
    assert len(volumes) == 1


@pytest.mark.parametrize('local_cloud', ['system'], indirect=True)
def test_a_guest_that_powers_off_once_booted(local_cloud, tmp_path):
    """The tiny guest powers off after its marker when its user-data says
    so: the build saw it boot (ACTIVE), and its domain then ends."""
    user_data = tmp_path / 'user-data'
    user_data.write_bytes(b'#cloud-config\n#spawnflow-tiny-guest: poweroff\n')
    server = local_cloud.create('brief', '--image', local_cloud.image['id'],
                                '--user-data', str(user_data))
    assert server['status'] == 'ACTIVE'
    with local_cloud.client() as client:
        virt = client.services.virt
        osf.wait_for(lambda: virt.state(server['id']) == 'shutoff',
                     timeout=60, what='the guest powered off')
        lines = client.console_log(server['id'])
        assert lines.index(GUEST + 'powering off') > [
            i for i, line in enumerate(lines)
            if line.startswith('Cloud-init v. ')][0]
    assert local_cloud.cli('server', 'delete', server['id']).returncode == 0


@pytest.fixture
def silent_cloud(qemu_uri, tiny_guest):
    """A cloud that waits 15 s (the guest boots in about 3 s) for a marker
    the guest never prints, as a cloud image without cloud-init would."""
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    cloud = Cloud(workdir, conftest.write_config(
        workdir / 'spawnflow.conf', workdir / 'state',
        extra=_libvirt(qemu_uri, boot_timeout=15,
                       marker='^never printed$')))
    with cloud.client() as client:
        client.db_sync()
        cloud.image = client.image_create('tiny-guest', tiny_guest, 'qcow2')
    yield cloud
    _tear_down(cloud)


def test_a_guest_that_never_reports_booting_is_reverted(silent_cloud,
                                                        tmp_path):
    """Reverted after the timeout, and what the guest printed (it echoes
    its user-data, here a password) is in no fault, event or flow."""
    secret = 'chpasswd-%s' % uuidlib.uuid4().hex
    user_data = tmp_path / 'user-data'
    user_data.write_text('#cloud-config\npassword: %s\n' % secret)
    result = silent_cloud.cli(
        'server', 'create', *FLAVOR, '--image', silent_cloud.image['id'],
        '--user-data', str(user_data),
        '--block-device', 'source=blank,destination=volume,size=1,'
        'delete-on-termination=true', 'silent')
    assert result.returncode == 1
    [error] = result.stderr.strip().splitlines()
    assert 'is ERROR: wait-for-boot failed: Guest ' in error
    assert 'did not print its boot marker within 15 seconds (its console ' \
        'has ' in error
    assert ' 0 lines' not in error  # the guest did boot and print

    with silent_cloud.client() as client:
        [server] = client.db.instance_list()
        uuid = server['uuid']
        server = client.show(uuid)
        assert server['vm_state'] == 'error'
        assert server['host'] is None
        assert libvirt_qemu.qemu_processes(uuid) == []
        assert client.services.virt.state(uuid) is None
        assert not os.path.exists(client.services.virt.instance_dir(uuid))
        assert all(b['volume_id'] is None for b in server['block_devices'])
        assert client.orphans() == []
        with client.db.engine.connect() as conn:
            for table in ('instance_faults', 'instance_actions_events',
                          'atomdetails', 'flowdetails', 'logbooks'):
                rows = conn.execute(sa.text('SELECT * FROM %s' % table))
                assert secret not in repr(rows.fetchall()), table
