"""A Cinder volume over iSCSI, end to end: the test Cinder exports it from
a real tgtd through Cinder's own tgt target helper (with the CHAP account
Cinder makes), ``spawnflow server create`` attaches it to the tiny guest on
qemu:///system, whose QEMU logs in to the target itself (libiscsi, from
Debian's qemu-block-extra) with the password spawnflow put in a libvirt
secret, and the guest prints what it reads on the disk. ``server delete``
leaves no connection to the target, no export and no secret behind, and
the password is in nothing spawnflow printed or stored.
"""

import json
import pathlib
import re
import sqlite3
import uuid as uuidlib

import libvirt
import pytest

from spawnflow.drivers.virt import guest_config
from tests.fixtures import libvirt_qemu
from tests.fixtures import openstack as osf
from tests.fixtures import tgt as tgt_fixture
from tests.functional import openstack
from tests.functional import test_real_guests as real_guests

QEMU_ISCSI = pathlib.Path('/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so')


@pytest.fixture(scope='module')
def tgt(tmp_path_factory):
    if not QEMU_ISCSI.is_file():
        pytest.skip('QEMU has no iSCSI driver (%s; apt-get install '
                    'qemu-block-extra)' % QEMU_ISCSI)
    try:
        with tgt_fixture.Tgtd(tmp_path_factory.mktemp('tgt')) as tgtd:
            yield tgtd
    except osf.ServiceUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope='module')
def iscsi_cinder(tgt, glance, tmp_path_factory):
    """A Cinder of its own whose volumes tgtd exports (SQLite: one
    attachment at a time here), on a broker vhost of its own: on the
    session Cinder's, the two would share their services' RPC queues
    (cinder-scheduler, cinder-volume.cinderhost@fake) and take each
    other's requests for volumes they do not have."""
    try:
        with osf.RabbitMQ(tmp_path_factory.mktemp('iscsi-rabbitmq')) as amqp, \
                osf.Cinder(osf.DEFAULT_VENV_ROOT / 'cinder',
                           tmp_path_factory.mktemp('iscsi-cinder'),
                           amqp.transport_url, tgt=tgt) as cinder:
            yield cinder
    except osf.ServiceUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture
def iscsi_cloud(qemu_uri, tiny_guest, glance, glance_client, iscsi_cinder):
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    cloud = real_guests.Cloud(workdir, openstack.config(
        workdir, glance, iscsi_cinder, extra=real_guests._libvirt(qemu_uri)))
    with cloud.client() as client:
        client.db_sync()
    cloud.image = real_guests.upload_tiny_guest(glance_client, tiny_guest)
    yield cloud
    real_guests._tear_down(cloud)
    glance_client.images.delete(cloud.image)


def _available_volume(cinder):
    """A 1 GiB volume of the iSCSI Cinder, with a marker at its start."""
    client = cinder.client(service_roles=True)
    volume = client.volumes.create(1, name='iscsi-data')

    def available():
        status = client.volumes.get(volume.id).status
        assert status in ('creating', 'available'), status
        return status == 'available'
    osf.wait_for(available, timeout=60, what='volume %s available' % volume.id)
    marker = 'spawnflow-iscsi-%s' % uuidlib.uuid4().hex[:12]
    with open(cinder.workdir / 'volumes' / ('volume-%s' % volume.id),
              'r+b') as data:
        data.write(marker.encode() + b'\n')
    return client, volume.id, marker


def _stored_text(state_path):
    """Every row of spawnflow's database, as text."""
    [database] = state_path.glob('*.sqlite')
    with sqlite3.connect(database) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return repr([conn.execute('SELECT * FROM "%s"' % table).fetchall()
                     for table in tables])


def test_a_guest_reads_a_volume_attached_over_iscsi(iscsi_cloud,
                                                    iscsi_cinder, tgt,
                                                    qemu_uri):
    cinder, volume_id, marker = _available_volume(iscsi_cinder)
    iqn = 'iqn.2010-10.org.openstack:volume-%s' % volume_id
    server = iscsi_cloud.cli(
        'server', 'create', *real_guests.FLAVOR, '--image', iscsi_cloud.image,
        '--block-device', 'source=volume,destination=volume,uuid=%s'
        % volume_id, '-f', 'json', 'iscsi-1')
    assert server.returncode == 0, server.stderr
    assert json.loads(server.stdout)['status'] == 'ACTIVE'
    uuid = json.loads(server.stdout)['id']
    with iscsi_cloud.client() as client:
        xml = client.services.virt.xml(uuid)
        lines = client.console_log(uuid)

    # The guest read the target's LUN: the volume's size and marker.
    assert (real_guests.GUEST + 'disk vdb: 2097152 sectors, head: %s'
            % marker) in lines, lines
    # QEMU is logged in to the target, with Cinder's CHAP account.
    export = tgt.show()
    assert 'Target 1: %s' % iqn in export
    assert re.search(r'I_T nexus: \d+\s+Initiator: iqn\.', export), export
    target_conf = (iscsi_cinder.workdir / 'tgt'
                   / ('volume-%s' % volume_id)).read_text()
    _user, password = re.search(r'incominguser (\S+) (\S+)',
                                target_conf).groups()
    usage = guest_config.secret_usage(uuid, 'vdb')
    assert "protocol='iscsi' name='%s/1'" % iqn in xml
    assert "<secret type='iscsi' usage='%s'/>" % usage in xml
    conn = libvirt.open(qemu_uri)
    try:
        conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
        # The password: in no output, record or XML of spawnflow's.
        for text in (server.stdout, server.stderr, xml,
                     _stored_text(iscsi_cloud.workdir / 'state')):
            assert password not in text

        deleted = iscsi_cloud.cli('server', 'delete', uuid)
        assert deleted.returncode == 0, deleted.stderr
        with pytest.raises(libvirt.libvirtError, match='no secret'):
            conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_ISCSI,
                                     usage)
    finally:
        conn.close()
    # No connection to the target, no export, the volume free again.
    assert tgt.show() == ''
    assert not (iscsi_cinder.workdir / 'tgt'
                / ('volume-%s' % volume_id)).exists()
    assert cinder.volumes.get(volume_id).status == 'available'
    cinder.volumes.delete(volume_id)
