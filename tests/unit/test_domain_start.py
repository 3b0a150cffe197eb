"""Starting a domain is idempotent, also against a start that a process
killed mid-call left to libvirtd: its domain may become active between
the driver's check and its own create(), which libvirt then refuses as
"domain is already running". A stand-in domain: the race cannot be timed
against a real libvirtd."""

import libvirt
import pytest

from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow.drivers.virt import libvirt as libvirt_driver


def _operation_invalid(message):
    error = libvirt.libvirtError(message)
    error.err = (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_FROM_QEMU,
                 message, libvirt.VIR_ERR_ERROR, None, None, None, -1, -1)
    return error


class _Domain:
    """Inactive at the first look; create() raises what libvirt raises
    after another start won the race (or failed for its own reason)."""

    def __init__(self, active_after_create_fails):
        self.looks = self.creates = 0
        self.active_after_create_fails = active_after_create_fails

    def isActive(self):
        self.looks += 1
        return self.looks > 1 and self.active_after_create_fails

    def create(self):
        self.creates += 1
        raise _operation_invalid('Requested operation is not valid: domain '
                                 'is already running')


def _driver(tmp_path, domain):
    config = tmp_path / 'spawnflow.conf'
    config.write_text('[libvirt]\nconnection_uri = test:///default\n')
    driver = libvirt_driver.LibvirtDriver(spawnflow_conf.load([str(config)]))
    driver._require = lambda uuid: domain
    return driver


def test_a_start_another_process_finished_meanwhile_is_no_error(tmp_path):
    domain = _Domain(active_after_create_fails=True)
    _driver(tmp_path, domain).start('some-uuid')
    assert domain.looks == 2


def test_an_invalid_operation_on_a_domain_still_inactive_fails(tmp_path):
    with pytest.raises(exception.VirtError, match='could not start'):
        _driver(tmp_path, _Domain(active_after_create_fails=False)).start(
            'some-uuid')


def _system_error(message):
    error = libvirt.libvirtError(message)
    error.err = (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_CGROUP,
                 message, libvirt.VIR_ERR_ERROR, None, None, None, -1, -1)
    return error


class _FlakyDomain:
    """create() fails in a system call ``failures`` times, then starts."""

    def __init__(self, failures):
        self.failures = failures
        self.creates = 0

    def isActive(self):
        return self.creates > self.failures

    def create(self):
        self.creates += 1
        if self.creates <= self.failures:
            raise _system_error('failed to load cgroup BPF prog: Resource '
                                'temporarily unavailable')


def test_a_start_failing_in_a_system_call_is_tried_again(tmp_path):
    domain = _FlakyDomain(failures=libvirt_driver.START_ATTEMPTS - 1)
    _driver(tmp_path, domain).start('some-uuid')
    assert domain.creates == libvirt_driver.START_ATTEMPTS


def test_a_start_failing_every_time_fails_with_the_cause(tmp_path):
    domain = _FlakyDomain(failures=libvirt_driver.START_ATTEMPTS)
    with pytest.raises(exception.VirtError, match='could not start some-uuid'
                       ': failed to load cgroup BPF prog'):
        _driver(tmp_path, domain).start('some-uuid')
    assert domain.creates == libvirt_driver.START_ATTEMPTS


def test_an_invalid_operation_is_not_tried_again(tmp_path):
    domain = _Domain(active_after_create_fails=False)
    with pytest.raises(exception.VirtError):
        _driver(tmp_path, domain).start('some-uuid')
    assert domain.creates == 1
