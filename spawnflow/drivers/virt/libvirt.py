"""Virt driver on libvirt-python: domains and the instance's files.

Domains are defined, started, destroyed and undefined; the files of an
instance (``<instances_path>/<uuid>/``: root disk, config drive, console
log) are made and removed here too, not by the tasks.

Every call is idempotent: starting a running domain, destroying a missing
one or removing a missing file succeeds, so a task re-run after a crash
converges.
"""

import logging
import os
import re
import shutil
import threading
from xml.etree import ElementTree

import libvirt
from oslo_utils import uuidutils
import tenacity

from spawnflow import exception
from spawnflow import fileutils
from spawnflow.drivers.virt import config_drive
from spawnflow.drivers.virt import console
from spawnflow.drivers.virt import guest_config
from spawnflow import qemu_img

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


def _system_error(error):
    return (isinstance(error, libvirt.libvirtError)
            and error.get_error_code() == libvirt.VIR_ERR_SYSTEM_ERROR)


#: Tries of a domain's start that fails in a system call (see start()).
START_ATTEMPTS = 3
#: Seconds between two looks at the console while waiting for the boot.
BOOT_POLL_INTERVAL = 0.05
#: States a booting guest never leaves by itself (QEMU pauses a guest
#: that KVM cannot run: an "emulation failure").
_NEVER_BOOTING = (None, 'shutoff', 'crashed', 'paused')
ROOT_DISK = 'disk'
CONFIG_DRIVE = 'disk.config'
CONSOLE_LOG = 'console.log'


class LibvirtDriver:
    def __init__(self, conf):
        self._uri = conf.libvirt.connection_uri
        self._virt_type = conf.libvirt.virt_type
        self._instances_path = conf.instances_path
        self._rbd_secret_uuid = conf.libvirt.rbd_secret_uuid
        try:
            re.compile(conf.libvirt.boot_marker)
        except re.error as error:
            raise exception.InvalidConfig(
                '[libvirt] boot_marker is not a regular expression: %s'
                % error)
        self._conn = None
        self._virt_type_checked = False
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

    def _check_virt_type(self, conn):
        """Refuse virt_type kvm where the hypervisor cannot run it (as
        Nova's driver does at start), saying why and what to set. Only
        what makes guests asks: a delete or a listing needs no KVM."""
        if (self._virt_type_checked or self._virt_type != 'kvm'
                or conn.getType() != 'QEMU'):
            return
        try:
            conn.getDomainCapabilities(None, None, None, 'kvm')
        except libvirt.libvirtError as error:
            raise exception.InvalidConfig(
                '[libvirt] virt_type = kvm, but %s cannot run KVM guests '
                '(%s); set virt_type = qemu to emulate them.'
                % (self._uri, error.get_error_message() or 'no reason '
                   'given'))
        self._virt_type_checked = True

    def capacity(self):
        """Host vcpus and memory_mb as the hypervisor reports them (for a
        build: its virt_type is checked)."""
        self._check_virt_type(self.conn)
        _model, memory_mb, cpus = self.conn.getInfo()[:3]
        return {'vcpus': cpus, 'memory_mb': memory_mb}

    def guest_xml(self, instance, disks, deployment):
        """The domain XML, with the instance's config drive (a missing one
        fails the domain's start, loudly) and its console logged to the
        instance's directory."""
        uuid = instance['uuid']
        return guest_config.build(
            instance, disks, self._virt_type, deployment,
            console_log=self.console_log_path(uuid),
            config_drive=self.config_drive_path(uuid),
            rbd_secret_uuid=self._rbd_secret_uuid)

    # Volume secrets ----------------------------------------------------------

    def set_volume_secret(self, instance_uuid, device_name, password):
        """Keep the CHAP password of an instance's iSCSI disk in a private
        libvirt secret (the domain XML names it by usage; the password is
        in no XML, log or record of spawnflow's). Idempotent."""
        usage = guest_config.secret_usage(instance_uuid, device_name)
        secret = ElementTree.Element('secret', ephemeral='no', private='yes')
        ElementTree.SubElement(secret, 'description').text = (
            'CHAP password of %s of instance %s' % (device_name,
                                                    instance_uuid))
        ElementTree.SubElement(
            ElementTree.SubElement(secret, 'usage', type='iscsi'),
            'target').text = usage
        try:
            found = self._secret(usage)
            if found is None:
                found = self.conn.secretDefineXML(
                    ElementTree.tostring(secret, encoding='unicode'))
            found.setValue(password.encode())
        except libvirt.libvirtError as error:
            raise exception.VirtError(
                'libvirt could not keep the CHAP secret of %s: %s'
                % (device_name, error.get_error_message()))

    def delete_volume_secret(self, instance_uuid, device_name):
        """Remove that secret; no-op when it is missing."""
        secret = self._secret(
            guest_config.secret_usage(instance_uuid, device_name))
        if secret is not None:
            secret.undefine()

    def _secret(self, usage):
        try:
            return self.conn.secretLookupByUsage(
                libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
        except libvirt.libvirtError as error:
            if error.get_error_code() in (libvirt.VIR_ERR_NO_SECRET,
                                          libvirt.VIR_ERR_NO_SUPPORT):
                return None
            raise

    # The instance's files --------------------------------------------------

    def instance_dir(self, uuid):
        return os.path.join(self._instances_path, uuid)

    def instance_dirs(self):
        """The uuids that name a directory in instances_path."""
        try:
            names = os.listdir(self._instances_path)
        except FileNotFoundError:
            return []
        return [name for name in names if uuidutils.is_uuid_like(name)
                and os.path.isdir(self.instance_dir(name))]

    def root_disk_path(self, uuid):
        return os.path.join(self.instance_dir(uuid), ROOT_DISK)

    def config_drive_path(self, uuid):
        return os.path.join(self.instance_dir(uuid), CONFIG_DRIVE)

    def console_log_path(self, uuid):
        return os.path.join(self.instance_dir(uuid), CONSOLE_LOG)

    def create_root_disk(self, uuid, base_path, base_format, size):
        """Make the root disk, a qcow2 overlay of ``size`` bytes on the
        base image, written under a temporary name and linked into place:
        a disk already there is whole, and is kept (a re-run's, or an owner
        that lost the flow while a guest may be using the disk)."""
        os.makedirs(self.instance_dir(uuid), exist_ok=True)
        path = self.root_disk_path(uuid)
        if os.path.isfile(path):
            return path
        try:
            with fileutils.atomic_file(path, replace=False) as part:
                try:
                    qemu_img.run('create', '-q', '-f', 'qcow2',
                                 '-b', base_path, '-F', base_format,
                                 part.name, str(size))
                except qemu_img.Failed as error:
                    raise exception.SpawnflowError(
                        'Cannot create the root disk: %s' % error)
        except FileExistsError:
            if not os.path.isfile(path):
                raise exception.SpawnflowError(
                    'Cannot create the root disk: %s exists and is not a '
                    'file' % path)
        return path

    def delete_root_disk(self, uuid):
        """Remove the root disk; a no-op when there is none (or when a
        directory stands there: the instance directory's removal takes
        it)."""
        try:
            fileutils.remove(self.root_disk_path(uuid))
        except IsADirectoryError:
            pass

    def create_config_drive(self, instance, user_data=None,
                            network_config=None):
        """Write the instance's config drive (made anew on a re-run)."""
        uuid = instance['uuid']
        os.makedirs(self.instance_dir(uuid), exist_ok=True)
        path = self.config_drive_path(uuid)
        with fileutils.atomic_file(path, mode='wb') as part:
            config_drive.write(part, instance, user_data, network_config)
        return path

    def delete_instance_files(self, uuid):
        """Remove the instance's directory and all in it; a no-op when
        there is none (or when something not a directory stands there)."""
        directory = self.instance_dir(uuid)
        if os.path.isdir(directory):
            shutil.rmtree(directory)

    def console_output(self, uuid, lines=None):
        """The last ``lines`` lines of the console log, printable."""
        try:
            return console.tail(self.console_log_path(uuid), lines)
        except PermissionError:
            raise self._unreadable(self.console_log_path(uuid))

    def _lookup(self, uuid):
        try:
            return self.conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def define(self, xml):
        """Define (or redefine, same uuid) the domain described by ``xml``."""
        self._check_virt_type(self.conn)
        try:
            return self.conn.defineXML(xml).UUIDString()
        except libvirt.libvirtError as error:
            raise exception.VirtError('libvirt refused the domain: %s'
                                      % error.get_error_message())

    def start(self, uuid):
        """Start the domain; a no-op when it runs already, including when
        a start made by a process that died meanwhile (which libvirtd
        carries on) ends between the check and this process's own.

        A start that failed in a system call (libvirt's VIR_ERR_SYSTEM_ERROR:
        seen as "failed to load cgroup BPF prog" for one guest in 120 while
        many started at once) is tried again, START_ATTEMPTS in all: libvirt
        undoes a failed start, and a repeated one is a no-op.
        """
        domain = self._require(uuid)
        if domain.isActive():
            return
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_system_error),
            stop=tenacity.stop_after_attempt(START_ATTEMPTS),
            wait=tenacity.wait_exponential(multiplier=0.2, max=2),
            before_sleep=lambda state: LOG.warning(
                'Starting %s failed (%s); trying again.', uuid,
                state.outcome.exception().get_error_message()),
            reraise=True)
        try:
            retrying(domain.create)
        except libvirt.libvirtError as error:
            if (error.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID
                    and domain.isActive()):
                return
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

    def wait_for_boot(self, uuid, marker, timeout):
        """Wait until the guest prints a line matching ``marker`` on its
        console, and return that line.

        Fails at once when the domain stops, pauses or disappears first,
        and after ``timeout`` seconds otherwise. What the guest printed is
        not quoted (it may echo its user-data): ``console log`` shows it.
        """
        watch = console.Watch(self.console_log_path(uuid), marker)

        def look():
            line = self._find(watch)
            if line is None:
                state = self.state(uuid)
                # (A guest may print its marker and power off at once.)
                line = self._find(watch)
                if line is None and state in _NEVER_BOOTING:
                    raise exception.GuestNotBooted(
                        'Guest %s is %s and never printed its boot marker.%s'
                        % (uuid, state or 'gone', self._paused_hint(state)))
            return line

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda line: line is None),
            wait=tenacity.wait_fixed(BOOT_POLL_INTERVAL),
            stop=tenacity.stop_after_delay(timeout),
            retry_error_callback=lambda _rs: self._not_booted(uuid, timeout))
        return retrying(look)

    def _paused_hint(self, state):
        if state == 'paused' and self._virt_type == 'kvm':
            return (' (KVM pauses a guest it cannot run, as under nested '
                    'virtualisation: set [libvirt] virt_type = qemu to '
                    'emulate it.)')
        return ''

    def _find(self, watch):
        try:
            return watch.find()
        except PermissionError:
            raise self._unreadable(watch.path)

    @staticmethod
    def _unreadable(path):
        return exception.VirtError(
            'Cannot read the console log %s: permission denied (virtlogd '
            'writes it for root).' % path)

    def _not_booted(self, uuid, timeout):
        try:
            lines = len(self.console_output(uuid))
        except exception.VirtError:
            lines = 0
        raise exception.GuestNotBooted(
            'Guest %s did not print its boot marker within %s seconds (its '
            'console has %d lines; `spawnflow console log` shows them while '
            'the server exists).' % (uuid, timeout, lines))

    def list_instances(self):
        """Domains spawnflow made: [{'uuid', 'name', 'state',
        'deployment'}]. A domain undefined while it is read (listed, then
        gone) is left out."""
        found = []
        for domain in self.conn.listAllDomains():
            try:
                owner = guest_config.owner_from_xml(domain.XMLDesc())
                if owner:
                    found.append({'uuid': owner[0], 'deployment': owner[1],
                                  'name': domain.name(),
                                  'state': _STATE_NAMES.get(
                                      domain.state()[0])})
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue
                raise
        return found

    def _require(self, uuid):
        domain = self._lookup(uuid)
        if domain is None:
            raise exception.VirtError('Domain %s is not defined.' % uuid)
        return domain
