"""Virt driver on libvirt-python: define, start, destroy and undefine domains.

Every call is idempotent: starting a running domain or destroying a missing
one succeeds, so a task re-run after a crash converges.
"""

import logging
import threading

import libvirt
import tenacity

from spawnflow import exception
from spawnflow.drivers.virt import guest_config

LOG = logging.getLogger(__name__)

_STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'nostate',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'suspended',
}


def _ignore_libvirt_errors(_ctx, _error):
    """libvirt prints every error to stderr; spawnflow raises them instead."""


libvirt.registerErrorHandler(_ignore_libvirt_errors, None)


class LibvirtDriver:
    def __init__(self, conf):
        self._uri = conf.libvirt.connection_uri
        self._virt_type = conf.libvirt.virt_type
        self._conn = None
        self._lock = threading.Lock()

    @property
    def conn(self):
        with self._lock:
            if self._conn is None or not self._conn.isAlive():
                try:
                    self._conn = libvirt.open(self._uri)
                except libvirt.libvirtError as error:
                    raise exception.VirtError(
                        'Cannot connect to libvirt at %s: %s'
                        % (self._uri, error.get_error_message()))
            return self._conn

    def capacity(self):
        """Host vcpus and memory_mb as the hypervisor reports them."""
        _model, memory_mb, cpus = self.conn.getInfo()[:3]
        return {'vcpus': cpus, 'memory_mb': memory_mb}

    def guest_xml(self, instance, disks, deployment, console_log=None):
        return guest_config.build(instance, disks, self._virt_type,
                                  deployment, console_log)

    def _lookup(self, uuid):
        try:
            return self.conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def define(self, xml):
        """Define (or redefine, same uuid) the domain described by ``xml``."""
        try:
            return self.conn.defineXML(xml).UUIDString()
        except libvirt.libvirtError as error:
            raise exception.VirtError('libvirt refused the domain: %s'
                                      % error.get_error_message())

    def start(self, uuid):
        domain = self._require(uuid)
        if domain.isActive():
            return
        try:
            domain.create()
        except libvirt.libvirtError as error:
            raise exception.VirtError('libvirt could not start %s: %s'
                                      % (uuid, error.get_error_message()))

    def destroy(self, uuid):
        """Power the domain off; no-op when it is missing or not running."""
        domain = self._lookup(uuid)
        if domain is None or not domain.isActive():
            return
        try:
            domain.destroy()
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def undefine(self, uuid):
        """Remove the domain's definition; no-op when it is missing."""
        domain = self._lookup(uuid)
        if domain is not None:
            self.destroy(uuid)
            domain.undefine()

    def state(self, uuid):
        """'running', 'shutoff', ... or None when no such domain exists."""
        domain = self._lookup(uuid)
        if domain is None:
            return None
        return _STATE_NAMES.get(domain.state()[0], 'unknown')

    def xml(self, uuid):
        return self._require(uuid).XMLDesc()

    def wait_for_running(self, uuid, timeout):
        """Wait, with capped exponential backoff, until the domain runs.

        Fails at once when the domain stops or disappears, and after
        ``timeout`` seconds otherwise.
        """
        def check():
            state = self.state(uuid)
            if state in (None, 'shutoff', 'crashed'):
                raise exception.VirtError(
                    'Domain %s is %s instead of running.'
                    % (uuid, state or 'gone'))
            return state

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda state: state != 'running'),
            wait=tenacity.wait_exponential(multiplier=0.05, max=2),
            stop=tenacity.stop_after_delay(timeout),
            retry_error_callback=lambda rs: self._not_running(uuid, timeout,
                                                              rs))
        return retrying(check)

    @staticmethod
    def _not_running(uuid, timeout, retry_state):
        raise exception.VirtError(
            'Domain %s did not reach running within %s seconds (last state '
            '%s).' % (uuid, timeout, retry_state.outcome.result()))

    def list_instances(self):
        """Domains spawnflow made: [{'uuid', 'name', 'state',
        'deployment'}]."""
        found = []
        for domain in self.conn.listAllDomains():
            try:
                xml = domain.XMLDesc()
            except libvirt.libvirtError:
                if self._lookup(domain.UUIDString()) is None:
                    continue  # undefined since it was listed
                raise
            owner = guest_config.owner_from_xml(xml)
            if owner:
                found.append({'uuid': owner[0], 'deployment': owner[1],
                              'name': domain.name(),
                              'state': _STATE_NAMES.get(domain.state()[0])})
        return found

    def _require(self, uuid):
        domain = self._lookup(uuid)
        if domain is None:
            raise exception.VirtError('Domain %s is not defined.' % uuid)
        return domain
