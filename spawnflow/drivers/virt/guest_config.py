"""Libvirt domain XML for an instance, built with ElementTree.

Names and other user text are set as element text, so ``<``, ``&`` and
quotes are escaped by the XML library; nothing is pasted into a string.
"""

import os
import string
from xml.etree import ElementTree

from spawnflow import exception

#: Marks a domain as spawnflow's, with the instance and the deployment
#: that made it, so orphans can be found by their tag.
METADATA_NAMESPACE = 'https://spawnflow.dev/xmlns/instance/1.0'
ElementTree.register_namespace('spawnflow', METADATA_NAMESPACE)


def domain_name(instance_uuid):
    return 'instance-%s' % instance_uuid


def _sub(parent, tag, text=None, **attrs):
    element = ElementTree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def secret_usage(instance_uuid, device_name):
    """The usage name of the libvirt secret holding the CHAP password of
    an instance's iSCSI disk: one per disk, found again by its name."""
    return 'spawnflow-%s-%s' % (instance_uuid, device_name)


def _local_source(devices, data):
    """A file or block device on this host (``file``, ``local``)."""
    path = data['device_path']
    if os.path.realpath(path).startswith('/dev/'):
        element = _sub(devices, 'disk', type='block', device='disk')
        _sub(element, 'driver', name='qemu', type='raw', cache='none')
        _sub(element, 'source', dev=path)
    else:
        element = _sub(devices, 'disk', type='file', device='disk')
        _sub(element, 'driver', name='qemu', type=data.get('format', 'raw'))
        _sub(element, 'source', file=path)
    return element


def _network_disk(devices, protocol, name, hosts):
    """A disk QEMU opens itself over the network: nothing on the host."""
    element = _sub(devices, 'disk', type='network', device='disk')
    _sub(element, 'driver', name='qemu', type='raw', cache='none')
    source = _sub(element, 'source', protocol=protocol, name=name)
    for host, port in hosts:
        _sub(source, 'host', name=host, port=str(port))
    return element


def _iscsi_source(devices, data, usage):
    """The target's LUN through QEMU's iSCSI initiator (libiscsi), with
    CHAP from the libvirt secret ``usage`` where the target asks for it
    (Nova's LibvirtNetVolumeDriver)."""
    host, _sep, port = data['target_portal'].rpartition(':')
    element = _network_disk(
        devices, 'iscsi', '%s/%s' % (data['target_iqn'], data['target_lun']),
        [(host.strip('[]'), port or 3260)])
    if data.get('auth_method') == 'CHAP':
        auth = _sub(element.find('source'), 'auth',
                    username=data['auth_username'])
        _sub(auth, 'secret', type='iscsi', usage=usage)
    return element


def _rbd_source(devices, data, rbd_secret_uuid):
    """A Ceph RBD image through QEMU's rbd driver; with cephx, the key is
    the libvirt secret ``[libvirt] rbd_secret_uuid`` (as Nova's)."""
    element = _network_disk(devices, 'rbd', data['name'],
                            zip(data.get('hosts', ()), data.get('ports', ())))
    if data.get('auth_enabled'):
        if not rbd_secret_uuid:
            raise exception.VirtError(
                'Cannot attach RBD volume %s: Ceph asks for cephx auth and '
                '[libvirt] rbd_secret_uuid names no libvirt secret.'
                % data['name'])
        auth = _sub(element.find('source'), 'auth',
                    username=data['auth_username'])
        _sub(auth, 'secret', type='ceph', uuid=rbd_secret_uuid)
    return element


def _disk_element(devices, instance_uuid, disk, rbd_secret_uuid):
    """Add one <disk> for a root disk or an attached volume.

    ``disk`` holds device_name and connection_info as saved on the block
    device mapping: driver_volume_type ``file`` (the local volume store),
    ``local`` (Cinder backends exported on this host), ``iscsi`` or
    ``rbd`` (opened by QEMU itself). Other types are refused.
    """
    info = disk['connection_info']
    data = info.get('data', {})
    volume_type = info.get('driver_volume_type')
    try:
        if volume_type in ('file', 'local'):
            element = _local_source(devices, data)
        elif volume_type == 'iscsi':
            element = _iscsi_source(
                devices, data,
                secret_usage(instance_uuid, disk['device_name']))
        elif volume_type == 'rbd':
            element = _rbd_source(devices, data, rbd_secret_uuid)
        else:
            raise exception.VirtError(
                'Cannot attach %s: unsupported driver_volume_type %r.'
                % (disk['device_name'], volume_type))
    except KeyError as missing:
        raise exception.VirtError(
            'Cannot attach %s: its %s connection info has no %s.'
            % (disk['device_name'], volume_type, missing))
    _sub(element, 'target', dev=disk['device_name'], bus='virtio')
    if disk.get('serial'):
        _sub(element, 'serial', disk['serial'])
    if disk.get('boot_index') is not None:
        _sub(element, 'boot', order=str(disk['boot_index'] + 1))


def disk_name(index):
    """The virtio target of the ``index``-th disk: vda..vdz, vdaa, ..."""
    letters = ''
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return 'vd' + letters


def _config_drive_element(devices, path, device_name):
    """The config drive: a read-only raw virtio disk (cloud-init finds it
    by its label; Nova attaches the same image as an IDE or SATA CD-ROM,
    which the test guest's kernel would need more drivers to read)."""
    element = _sub(devices, 'disk', type='file', device='disk')
    _sub(element, 'driver', name='qemu', type='raw')
    _sub(element, 'source', file=path)
    _sub(element, 'target', dev=device_name, bus='virtio')
    _sub(element, 'readonly')


def _console_elements(devices, console_log):
    """The serial console, written to ``console_log`` by virtlogd (which
    caps its size and rotates it, as in Nova) and open to ``virsh
    console``."""
    serial = _sub(devices, 'serial', type='pty')
    _sub(serial, 'log', file=console_log, append='off')
    _sub(serial, 'target', port='0')
    console = _sub(devices, 'console', type='pty')
    _sub(console, 'target', type='serial', port='0')


def build(instance, disks, virt_type, deployment, console_log=None,
          config_drive=None, rbd_secret_uuid=None):
    """Return the domain XML (str) for ``instance`` with ``disks``.

    ``instance`` is the instance row as a dict; ``disks`` is a list of
    dicts with device_name, boot_index, serial and connection_info;
    ``deployment`` is the tag of the deployment making it;
    ``console_log`` and ``config_drive`` are paths in the instance's
    directory; ``rbd_secret_uuid`` the libvirt secret of Ceph's key.
    """
    domain = ElementTree.Element('domain', type=virt_type)
    _sub(domain, 'name', domain_name(instance['uuid']))
    _sub(domain, 'uuid', instance['uuid'])
    _sub(domain, 'title', instance['display_name'])
    metadata = _sub(_sub(domain, 'metadata'),
                    '{%s}instance' % METADATA_NAMESPACE)
    _sub(metadata, '{%s}deployment' % METADATA_NAMESPACE, deployment)
    _sub(metadata, '{%s}name' % METADATA_NAMESPACE, instance['display_name'])
    _sub(metadata, '{%s}flavor' % METADATA_NAMESPACE,
         name=instance['flavor_name'], vcpus=str(instance['vcpus']),
         memory_mb=str(instance['memory_mb']),
         root_gb=str(instance['root_gb']))
    _sub(domain, 'memory', str(instance['memory_mb']), unit='MiB')
    _sub(domain, 'vcpu', str(instance['vcpus']))
    os_element = _sub(domain, 'os')
    _sub(os_element, 'type', 'hvm')
    features = _sub(domain, 'features')
    _sub(features, 'acpi')
    _sub(features, 'apic')
    if virt_type == 'kvm':
        _sub(domain, 'cpu', mode='host-model')
    _sub(domain, 'clock', offset='utc')
    _sub(domain, 'on_poweroff', 'destroy')
    _sub(domain, 'on_reboot', 'restart')
    _sub(domain, 'on_crash', 'destroy')
    devices = _sub(domain, 'devices')
    for disk in sorted(disks, key=lambda d: d['device_name']):
        _disk_element(devices, instance['uuid'], disk, rbd_secret_uuid)
    if config_drive:
        used = {disk['device_name'] for disk in disks}
        free = next(disk_name(i) for i in range(len(disks) + 1)
                    if disk_name(i) not in used)
        _config_drive_element(devices, config_drive, free)
    if console_log:
        _console_elements(devices, console_log)
    return ElementTree.tostring(domain, encoding='unicode')


def owner_from_xml(xml):
    """(instance uuid, deployment tag) of a spawnflow domain (the tag is
    None on domains made before spawnflow tagged them), or None for other
    domains."""
    root = ElementTree.fromstring(xml)
    metadata = root.find('metadata/{%s}instance' % METADATA_NAMESPACE)
    if metadata is None:
        return None
    return (root.findtext('uuid'),
            metadata.findtext('{%s}deployment' % METADATA_NAMESPACE))
