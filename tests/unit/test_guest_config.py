"""Domain XML from guest_config: escaping, tagging and disk types."""

import string
from xml.etree import ElementTree

import libvirt
import pytest

from spawnflow.drivers.virt import guest_config
from spawnflow import exception

UUID = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f'
NS = {'spawnflow': guest_config.METADATA_NAMESPACE}


def _instance(name='web-1'):
    return {'uuid': UUID, 'display_name': name, 'flavor_name': 'm1.tiny',
            'vcpus': 1, 'memory_mb': 512, 'root_gb': 1}


def _file_disk(device_name='vda', boot_index=0, path='/srv/disk'):
    return {'device_name': device_name, 'boot_index': boot_index,
            'serial': None,
            'connection_info': {'driver_volume_type': 'file',
                                'data': {'device_path': path,
                                         'format': 'qcow2'}}}


@pytest.mark.parametrize('name', [
    'a<b & "c" \'d\'',
    '</title><script>alert(1)</script>',
    '&amp; ]]> <!-- -->',
    "'\"<&>\"'",
])
def test_markup_in_name_round_trips(name):
    xml = guest_config.build(_instance(name), [_file_disk()], 'kvm', 'dep-1')
    root = ElementTree.fromstring(xml)
    assert root.findtext('title') == name
    assert root.findtext('metadata/spawnflow:instance/spawnflow:name',
                         namespaces=NS) == name
    # Nothing the name holds became markup.
    assert [child.tag for child in root.find('title')] == []
    assert root.findall('.//script') == []


def test_domain_identity_and_flavor():
    xml = guest_config.build(_instance(), [_file_disk()], 'qemu', 'dep-1')
    root = ElementTree.fromstring(xml)
    assert root.get('type') == 'qemu'
    assert root.findtext('name') == 'instance-%s' % UUID
    assert root.findtext('uuid') == UUID
    assert root.find('memory').attrib == {'unit': 'MiB'}
    assert root.findtext('memory') == '512'
    assert root.findtext('vcpu') == '1'
    flavor = root.find('metadata/spawnflow:instance/spawnflow:flavor',
                       namespaces=NS)
    assert flavor.attrib == {'name': 'm1.tiny', 'vcpus': '1',
                             'memory_mb': '512', 'root_gb': '1'}


def test_deployment_tag_in_metadata():
    root = ElementTree.fromstring(guest_config.build(
        _instance(), [_file_disk()], 'kvm', 'dep-1'))
    assert root.findtext('metadata/spawnflow:instance/spawnflow:deployment',
                         namespaces=NS) == 'dep-1'


def test_owner_from_own_xml():
    xml = guest_config.build(_instance('<&"\'>'), [_file_disk()], 'kvm',
                             'dep-1')
    assert guest_config.owner_from_xml(xml) == (UUID, 'dep-1')


def test_foreign_domain_returns_none():
    xml = ('<domain type="kvm"><name>other</name>'
           '<uuid>%s</uuid><title>not ours</title>'
           '<metadata><app:x xmlns:app="https://example.org/app"/>'
           '</metadata></domain>' % UUID)
    assert guest_config.owner_from_xml(xml) is None


def test_domain_without_metadata_returns_none():
    xml = '<domain type="test"><name>test</name></domain>'
    assert guest_config.owner_from_xml(xml) is None


def test_disks_sorted_by_device_with_boot_order():
    disks = [_file_disk('vdb', None, '/srv/data'),
             _file_disk('vda', 0, '/srv/root')]
    disks[0]['serial'] = 'vol-1'
    root = ElementTree.fromstring(
        guest_config.build(_instance(), disks, 'kvm', 'dep-1'))
    found = [(d.find('target').get('dev'), d.find('source').get('file'),
              d.find('boot').get('order') if d.find('boot') is not None
              else None, d.findtext('serial'))
             for d in root.findall('devices/disk')]
    assert found == [('vda', '/srv/root', '1', None),
                     ('vdb', '/srv/data', None, 'vol-1')]


@pytest.mark.parametrize('path, disk_type, source_attr', [
    ('/dev/null', 'block', 'dev'),
    ('/srv/cinder/volumes/volume-v', 'file', 'file'),
])
def test_local_connection_is_a_block_device_or_a_file(path, disk_type,
                                                      source_attr):
    disk = {'device_name': 'vdb', 'boot_index': None, 'serial': 'v',
            'connection_info': {'driver_volume_type': 'local',
                                'data': {'device_path': path}}}
    root = ElementTree.fromstring(
        guest_config.build(_instance(), [disk], 'kvm', 'dep-1'))
    element = root.find('devices/disk')
    assert element.get('type') == disk_type
    assert element.find('source').get(source_attr) == path


@pytest.mark.parametrize('volume_type', ['nfs', 'fibre_channel', None])
def test_unsupported_volume_type_raises(volume_type):
    disk = _file_disk('vdc', None)
    disk['connection_info']['driver_volume_type'] = volume_type
    with pytest.raises(exception.VirtError,
                       match="Cannot attach vdc: unsupported "
                             "driver_volume_type %r" % volume_type):
        guest_config.build(_instance(), [_file_disk(), disk], 'kvm',
                           'dep-1')


def _network_disk(volume_type, **data):
    return {'device_name': 'vdb', 'boot_index': None, 'serial': 'vol-1',
            'connection_info': {'driver_volume_type': volume_type,
                                'data': data}}


#: What Cinder's TgtAdm target (with CHAP) and its RBD driver (with
#: cephx) return, less the secrets spawnflow never stores.
ISCSI = dict(target_discovered=False, target_portal='192.0.2.10:3260',
             target_iqn='iqn.2010-10.org.openstack:volume-1', target_lun=1,
             volume_id='1', auth_method='CHAP', auth_username='Kq3m')
RBD = dict(name='volumes/volume-1', hosts=['192.0.2.1', '192.0.2.2'],
           ports=['6789', '6789'], cluster_name='ceph', auth_enabled=True,
           auth_username='cinder', volume_id='1', discard=True)
RBD_SECRET = '5f6c1d80-4b1a-4c4e-9b0c-3d2e1f0a9b8c'


def _libvirt_validates(xml):
    """libvirt's own check of the XML against its schema (test driver)."""
    conn = libvirt.open('test:///default')
    try:
        domain = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
        defined = ElementTree.fromstring(domain.XMLDesc())
        domain.undefine()
        return defined
    finally:
        conn.close()


def test_iscsi_is_a_network_disk_with_chap_from_a_libvirt_secret():
    xml = guest_config.build(_instance(), [_file_disk(),
                                           _network_disk('iscsi', **ISCSI)],
                             'qemu', 'dep-1')
    for root in (ElementTree.fromstring(xml), _libvirt_validates(xml)):
        disk = root.findall('devices/disk')[1]
        assert disk.get('type') == 'network'
        source = disk.find('source')
        assert source.get('protocol') == 'iscsi'
        assert source.get('name') == 'iqn.2010-10.org.openstack:volume-1/1'
        assert source.find('host').attrib == {'name': '192.0.2.10',
                                              'port': '3260'}
        assert source.find('auth').get('username') == 'Kq3m'
        assert source.find('auth/secret').attrib == {
            'type': 'iscsi',
            'usage': guest_config.secret_usage(UUID, 'vdb')}
        assert disk.find('target').get('dev') == 'vdb'
        assert disk.findtext('serial') == 'vol-1'


def test_iscsi_without_chap_names_no_secret():
    data = dict(ISCSI, target_portal='[2001:db8::1]:3261')
    del data['auth_method'], data['auth_username']
    root = ElementTree.fromstring(guest_config.build(
        _instance(), [_network_disk('iscsi', **data)], 'qemu', 'dep-1'))
    source = root.find('devices/disk/source')
    assert source.find('host').attrib == {'name': '2001:db8::1',
                                          'port': '3261'}
    assert source.find('auth') is None


def test_rbd_is_a_network_disk_with_its_monitors_and_ceph_secret():
    xml = guest_config.build(_instance(), [_network_disk('rbd', **RBD)],
                             'qemu', 'dep-1', rbd_secret_uuid=RBD_SECRET)
    for root in (ElementTree.fromstring(xml), _libvirt_validates(xml)):
        disk = root.find('devices/disk')
        assert disk.get('type') == 'network'
        source = disk.find('source')
        assert (source.get('protocol'), source.get('name')) == (
            'rbd', 'volumes/volume-1')
        assert [host.attrib for host in source.findall('host')] == [
            {'name': '192.0.2.1', 'port': '6789'},
            {'name': '192.0.2.2', 'port': '6789'}]
        assert source.find('auth').get('username') == 'cinder'
        assert source.find('auth/secret').attrib == {'type': 'ceph',
                                                     'uuid': RBD_SECRET}


def test_rbd_with_cephx_needs_the_secret_option():
    with pytest.raises(exception.VirtError, match=r'Cannot attach RBD volume '
                       r'volumes/volume-1: .*\[libvirt\] rbd_secret_uuid'):
        guest_config.build(_instance(), [_network_disk('rbd', **RBD)],
                           'qemu', 'dep-1')
    root = ElementTree.fromstring(guest_config.build(
        _instance(), [_network_disk('rbd', **dict(RBD, auth_enabled=False))],
        'qemu', 'dep-1'))
    assert root.find('devices/disk/source/auth') is None


def test_iscsi_info_without_a_target_is_one_clear_error():
    data = dict(ISCSI)
    del data['target_iqn']
    with pytest.raises(exception.VirtError,
                       match="Cannot attach vdb: its iscsi connection info "
                             "has no 'target_iqn'."):
        guest_config.build(_instance(), [_network_disk('iscsi', **data)],
                           'qemu', 'dep-1')


def test_console_logged_by_virtlogd_and_open_to_virsh_console():
    root = ElementTree.fromstring(guest_config.build(
        _instance(), [_file_disk()], 'kvm', 'dep-1',
        console_log='/srv/console.log'))
    serial = root.find('devices/serial')
    assert serial.get('type') == 'pty'
    assert serial.find('log').attrib == {'file': '/srv/console.log',
                                         'append': 'off'}
    console = root.find('devices/console')
    assert console.find('target').attrib == {'type': 'serial', 'port': '0'}


@pytest.mark.parametrize('index, name', [(0, 'vda'), (25, 'vdz'),
                                         (26, 'vdaa'), (27, 'vdab'),
                                         (51, 'vdaz'), (52, 'vdba'),
                                         (701, 'vdzz'), (702, 'vdaaa')])
def test_disk_names_go_on_past_vdz(index, name):
    assert guest_config.disk_name(index) == name


def test_config_drive_is_a_read_only_disk_after_the_others():
    disks = [_file_disk('vd' + letter, None, '/srv/' + letter)
             for letter in string.ascii_lowercase]
    root = ElementTree.fromstring(guest_config.build(
        _instance(), disks, 'qemu', 'dep-1',
        config_drive='/srv/disk.config'))
    drive = root.findall('devices/disk')[-1]
    assert drive.find('source').get('file') == '/srv/disk.config'
    assert drive.find('target').attrib == {'dev': 'vdaa', 'bus': 'virtio'}
    assert drive.find('readonly') is not None
    assert drive.find('driver').get('type') == 'raw'


def test_kvm_guests_get_the_host_cpu_model_and_tcg_guests_the_default():
    kvm, qemu = (ElementTree.fromstring(guest_config.build(
        _instance(), [_file_disk()], virt_type, 'dep-1'))
        for virt_type in ('kvm', 'qemu'))
    assert kvm.find('cpu').get('mode') == 'host-model'
    assert qemu.find('cpu') is None
    for root in (kvm, qemu):
        assert root.find('features/acpi') is not None
        assert root.findtext('on_poweroff') == 'destroy'
