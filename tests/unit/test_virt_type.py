"""[libvirt] virt_type = kvm is refused, saying why, where libvirt offers no
KVM guests (as Nova's driver refuses at start). A stand-in connection:
a host without KVM cannot be made here."""

import libvirt
import pytest

from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow.drivers.virt import libvirt as libvirt_driver


class _Connection:
    def __init__(self, hypervisor, kvm_error=None):
        self.hypervisor = hypervisor
        self.kvm_error = kvm_error

    def getType(self):
        return self.hypervisor

    def getDomainCapabilities(self, emulator, arch, machine, virt_type):
        assert virt_type == 'kvm'
        if self.kvm_error:
            raise libvirt.libvirtError(self.kvm_error)
        return '<domainCapabilities/>'


def _driver(tmp_path, virt_type, uri='qemu:///system'):
    config = tmp_path / 'spawnflow.conf'
    config.write_text('[libvirt]\nconnection_uri = %s\nvirt_type = %s\n'
                      % (uri, virt_type))
    return libvirt_driver.LibvirtDriver(spawnflow_conf.load([str(config)]))


def test_kvm_refused_where_the_host_has_none(tmp_path):
    conn = _Connection('QEMU', kvm_error='invalid argument: KVM is not '
                                         'supported by /usr/bin/qemu')
    with pytest.raises(exception.InvalidConfig) as error:
        _driver(tmp_path, 'kvm')._check_virt_type(conn)
    assert str(error.value).startswith(
        '[libvirt] virt_type = kvm, but qemu:///system cannot run KVM '
        'guests (')
    assert str(error.value).endswith(
        '); set virt_type = qemu to emulate them.')


@pytest.mark.parametrize('virt_type, hypervisor', [
    ('kvm', 'QEMU'),    # KVM offered
    ('qemu', 'QEMU'),   # emulation needs no KVM
    ('kvm', 'TEST'),    # the test driver takes any type
])
def test_accepted(tmp_path, virt_type, hypervisor):
    conn = _Connection(hypervisor, kvm_error=None if virt_type == 'kvm'
                       and hypervisor == 'QEMU' else 'no KVM')
    _driver(tmp_path, virt_type)._check_virt_type(conn)


def test_a_boot_marker_that_is_no_regular_expression(tmp_path):
    config = tmp_path / 'spawnflow.conf'
    config.write_text('[libvirt]\nboot_marker = finished (at\n')
    with pytest.raises(exception.InvalidConfig,
                       match=r'\[libvirt\] boot_marker is not a regular '
                             r'expression: missing \), unterminated '
                             r'subpattern at position 9'):
        libvirt_driver.LibvirtDriver(spawnflow_conf.load([str(config)]))
