"""Request to guest-booted: spawnflow against virt-install and a floor.

The same tiny test guest (build/tiny-guest/tiny-guest.qcow2, made by
`make tiny-guest`) with the same resources (1 vCPU, 128 MiB, a 1 GiB qcow2
overlay on the image, a NoCloud config drive from spawnflow's own writer,
the serial console logged to a file by virtlogd), on qemu:///system with
virt_type qemu (TCG). Each case is timed from its start until the guest's
boot marker (cloud-init's "finished" line) is in the console log:

- floor: qemu-img overlay + config drive + a hand-written domain XML
  started with `virsh create` (a transient domain), then the marker;
- virt-install: overlay + config drive + `virt-install --import`, then the
  marker;
- spawnflow: Client.build in this process (the whole flow persisted in
  SQLite), which returns once its wait-for-boot task saw the marker;
- spawnflow CLI (shown, not in the ratios): `spawnflow server create`, its
  Python start-up included.

The console is polled every BOOT_POLL_INTERVAL (0.05 s) everywhere, with
the same Watch spawnflow uses. Cases alternate round by round (after one
untimed warm-up round); teardown (destroy, undefine, delete) is untimed.
Each time is also split into the guest's boot (domain started to marker
seen: the same work in every case, and what the machine's load spreads
most) and the rest, what the tool costs ("host"), with ratios of both.
Needs root (libvirtd, and virtinst is installed when missing).

    .venv/bin/python bench/boot.py [--rounds 5] [--image PATH]
"""

import argparse
import collections
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from xml.etree import ElementTree

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.drivers.virt import config_drive
from spawnflow.drivers.virt import console
from spawnflow.drivers.virt import libvirt as libvirt_driver

URI = 'qemu:///system'
REPO = pathlib.Path(__file__).resolve().parent.parent
TINY_GUEST = os.environ.get(
    'SPAWNFLOW_TINY_GUEST', REPO / 'build' / 'tiny-guest' / 'tiny-guest.qcow2')
MARKER = r'Cloud-init v\. \S+ finished at '
TIMEOUT = 120
VCPUS, RAM_MIB, DISK_GIB = 1, 128, 1
USER_DATA = b'#cloud-config\n# spawnflow bench/boot.py\n'
#: The steps of a spawnflow build besides its tasks.
BEFORE = '(before the first task)'
BETWEEN = '(between tasks)'
AFTER = '(after the last task)'
GOAL = 'goal: <= 1.00 against virt-install, <= 1.10 against the floor'

#: What spawnflow's guest_config.build makes for this guest, by hand.
FLOOR_XML = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{ram}</memory>
  <vcpu>{vcpus}</vcpu>
  <os><type>hvm</type></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{overlay}'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{drive}'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <serial type='pty'>
      <log file='{log}' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
"""


# The host ------------------------------------------------------------------

def _run(*command):
    result = subprocess.run(command, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if result.returncode:
        raise RuntimeError('%s failed (%d): %s' % (
            ' '.join(command), result.returncode, result.stderr.strip()))
    return result.stdout


def _virsh(*args, check=True):
    if check:
        return _run('virsh', '-q', '-c', URI, *args)
    return subprocess.run(('virsh', '-q', '-c', URI) + args,
                          capture_output=True).returncode


def _ensure_libvirt():
    """qemu:///system answering (tools/libvirt-qemu/start.sh starts its
    daemons when none runs)."""
    subprocess.run([str(REPO / 'tools' / 'libvirt-qemu' / 'start.sh')],
                   check=True)


def _ensure_virt_install():
    if shutil.which('virt-install'):
        return
    print('installing virtinst')
    subprocess.run(['apt-get', '-o', 'DPkg::Lock::Timeout=600', 'install',
                    '-y', '-qq', '--no-install-recommends', 'virtinst'],
                   check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))


def _context(image):
    virtual = json.loads(_run('qemu-img', 'info', '--output=json',
                              str(image)))['virtual-size']
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    return ('%d CPUs, %s, virt_type qemu (TCG)\nimage %s: %.1f MiB file, %d '
            'MiB virtual, sha256 %s...\nguest: %d vCPU, %d MiB, %d GiB qcow2 '
            'overlay, config drive, serial console log' % (
                os.cpu_count(), _run('qemu-system-x86_64', '--version')
                .splitlines()[0], image, image.stat().st_size / 2 ** 20,
                virtual // 2 ** 20, digest[:16], VCPUS, RAM_MIB, DISK_GIB))


# The guest's files and its boot ---------------------------------------------

def _guest_files(directory, name, image):
    """Overlay, config drive and console log paths for a guest, the first
    two made as spawnflow makes them."""
    overlay = directory / ('%s.qcow2' % name)
    drive = directory / ('%s.config' % name)
    _run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', str(image),
         '-F', 'qcow2', str(overlay), '%dG' % DISK_GIB)
    with open(drive, 'wb') as fileobj:
        config_drive.write(fileobj, {'uuid': str(uuidlib.uuid4()),
                                     'display_name': name},
                           user_data=USER_DATA)
    return overlay, drive, directory / ('%s.log' % name)


def _remove_files(directory, name):
    for path in directory.glob('%s.*' % name):
        path.unlink()


def _wait_for_marker(log):
    """Poll the console log (new bytes only) until the boot marker; the
    marker line."""
    watch = console.Watch(str(log), MARKER)
    deadline = time.monotonic() + TIMEOUT
    while (line := watch.find()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError('no boot marker in %s after %d s; last lines: '
                               '%s' % (log, TIMEOUT, console.tail(str(log),
                                                                  5)))
        time.sleep(libvirt_driver.BOOT_POLL_INTERVAL)
    return line


def _guest_up(line):
    """The guest's own uptime when it printed the marker (the tiny guest
    and cloud-init end it with "Up N seconds"), or None."""
    found = re.search(r'Up ([0-9.]+) seconds', line or '')
    return float(found.group(1)) if found else None


#: One timed case, in seconds from its start: until it ended (the marker
#: seen, or Client.build returned), until the domain was started (the
#: tool returned, or spawnflow's start-domain task finished), and until
#: the marker was seen (spawnflow's wait-for-boot finished); the guest's
#: uptime at the marker; spawnflow's [(step, seconds)] (None for others).
Sample = collections.namedtuple('Sample',
                                'seconds started seen guest_up steps')


# The cases ------------------------------------------------------------------

class Floor:
    label = 'floor (XML + virsh create)'

    def __init__(self, directory, image, domains):
        self.directory, self.image, self.domains = directory, image, domains

    def run(self, name):
        start = time.perf_counter()
        overlay, drive, log = _guest_files(self.directory, name, self.image)
        xml = self.directory / ('%s.xml' % name)
        xml.write_text(FLOOR_XML.format(name=name, ram=RAM_MIB, vcpus=VCPUS,
                                        overlay=overlay, drive=drive,
                                        log=log))
        self.domains.append(name)
        _virsh('create', str(xml))
        started = time.perf_counter() - start
        line = _wait_for_marker(log)
        seconds = time.perf_counter() - start
        _virsh('destroy', name)  # transient: gone with it
        self.domains.remove(name)
        _remove_files(self.directory, name)
        return Sample(seconds, started, seconds, _guest_up(line), None)


class VirtInstall:
    """virt-install makes a storage pool of the directory of the disks it
    is given (and lists every pool each time): all its guests' disks are
    in one directory, as in an images directory, so its pool is made once
    (in the warm-up round) and stays small."""

    label = 'virt-install --import'

    def __init__(self, directory, image, domains):
        self.directory, self.image, self.domains = directory, image, domains

    def run(self, name):
        start = time.perf_counter()
        overlay, drive, log = _guest_files(self.directory, name, self.image)
        self.domains.append(name)
        _run('virt-install', '--connect', URI, '--virt-type', 'qemu',
             '--name', name, '--memory', str(RAM_MIB), '--vcpus', str(VCPUS),
             '--import',
             '--disk', 'path=%s,bus=virtio,format=qcow2' % overlay,
             '--disk', 'path=%s,bus=virtio,format=raw,readonly=on' % drive,
             '--network', 'none', '--graphics', 'none',
             '--serial', 'pty,log.file=%s' % log, '--noautoconsole',
             '--osinfo', 'detect=off,require=off')
        started = time.perf_counter() - start
        line = _wait_for_marker(log)
        seconds = time.perf_counter() - start
        _virsh('destroy', name)
        _virsh('undefine', name)
        self.domains.remove(name)
        _remove_files(self.directory, name)
        return Sample(seconds, started, seconds, _guest_up(line), None)


class Spawnflow:
    label = 'spawnflow Client.build'

    def __init__(self, client, image_id):
        self.client, self.image_id = client, image_id

    def run(self, name):
        called = time.time()
        start = time.perf_counter()
        server = self.client.build(name, vcpus=VCPUS, ram=RAM_MIB,
                                   disk=DISK_GIB, image=self.image_id,
                                   user_data=USER_DATA)
        seconds = time.perf_counter() - start
        return _finish(self.client, server['uuid'], called, seconds)


class SpawnflowCli:
    label = 'spawnflow server create (CLI)'

    def __init__(self, client, image_id, config, workdir):
        self.client, self.image_id, self.config = client, image_id, config
        self.user_data = workdir / 'user-data'
        self.user_data.write_bytes(USER_DATA)
        self.command = pathlib.Path(sys.executable).parent / 'spawnflow'

    def run(self, name):
        called = time.time()
        start = time.perf_counter()
        uuid = _run(str(self.command), '--config-file', self.config,
                    'server', 'create', '--vcpus', str(VCPUS), '--ram',
                    str(RAM_MIB), '--disk', str(DISK_GIB), '--image',
                    self.image_id, '--user-data', str(self.user_data),
                    '-f', 'value', '-c', 'id', name).strip()
        seconds = time.perf_counter() - start
        return _finish(self.client, uuid, called, seconds)


def _finish(client, uuid, called, seconds):
    """Check a spawnflow build, read where its time went, delete it."""
    server = client.show(uuid)
    assert server['vm_state'] == 'active', server.get('fault')
    marker = [line for line in client.console_log(uuid)
              if re.search(MARKER, line)]
    spans = _spans(client, uuid)
    client.delete(uuid)
    return Sample(seconds, spans['start-domain'][1] - called,
                  spans['wait-for-boot'][1] - called,
                  _guest_up(marker[0] if marker else None),
                  _steps(spans, called, called + seconds))


def _epoch(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def _spans(client, uuid):
    """{task: (start, finish)} (epoch seconds) of the build's create
    action, in the order the tasks ran."""
    action = next(a for a in client.actions(uuid) if a['action'] == 'create')
    return {e['event']: (_epoch(e['start_time']), _epoch(e['finish_time']))
            for e in action['events']}


def _steps(spans, called, returned):
    """[(step, seconds)]: before the first task, each task, between
    tasks, after the last."""
    times = list(spans.values())
    between = sum(later[0] - earlier[1]
                  for earlier, later in zip(times, times[1:]))
    return ([(BEFORE, times[0][0] - called)]
            + [(task, end - begin) for task, (begin, end) in spans.items()]
            + [(BETWEEN, between), (AFTER, returned - times[-1][1])])


# The report -----------------------------------------------------------------

def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float('nan')


def _print_table(cases, samples):
    print('%-31s %6s %7s %7s %7s %8s %8s %8s %8s' % (
        'case (seconds)', 'rounds', 'median', 'min', 'max', 'started',
        'booted', 'host', 'guest up'))
    for case in cases:
        runs = samples[case.label]
        seconds = [s.seconds for s in runs]
        print('%-31s %6d %7.2f %7.2f %7.2f %8.2f %8.2f %8.2f %8.2f' % (
            case.label, len(runs), statistics.median(seconds),
            min(seconds), max(seconds), _median(s.started for s in runs),
            _median(s.seen - s.started for s in runs),
            _median(_host(s) for s in runs),
            _median(s.guest_up for s in runs)))
    print('medians of: started: request to domain started; booted: '
          'started to marker seen\n(the guest\'s boot under TCG, the same '
          'work in every case: its spread is the\nmachine\'s load); host: '
          'the rest, what the tool itself costs; guest up: the\nguest '
          'kernel\'s own uptime at the marker')
    boot = _median(s.seen - s.started
                   for runs in samples.values() for s in runs)
    for what, value in (
            ('wall', lambda s: s.seconds),
            ('host only', _host),
            ('wall, one boot for all (%.2f s, the median booted of every '
             'run)' % boot, lambda s: boot + _host(s))):
        ratio = {case.label: _median(value(s) for s in samples[case.label])
                 for case in cases}
        print('%s:\n  spawnflow / virt-install: %.2f   spawnflow / floor: '
              '%.2f' % (what, ratio[Spawnflow.label] /
                        ratio[VirtInstall.label],
                        ratio[Spawnflow.label] / ratio[Floor.label]))
    print(GOAL + ' (Client.build, median to median; the CLI row is '
          'informational)')


def _host(sample):
    """What the tool costs: the wall time but the guest's boot."""
    return sample.seconds - (sample.seen - sample.started)


def _print_steps(cases, samples):
    """Median seconds per step of spawnflow's builds, API and CLI."""
    spawnflow = [case for case in cases if samples[case.label][0].steps]
    per_step = collections.defaultdict(lambda: collections.defaultdict(list))
    for case in spawnflow:
        for sample in samples[case.label]:
            for step, seconds in sample.steps:
                per_step[step][case.label].append(seconds)
    print('\nwhere spawnflow\'s time goes, median seconds per step:')
    print('  %-40s' % 'step' + ''.join(' %12s' % case.label.split()[-1]
                                       for case in spawnflow))
    for step, by_case in per_step.items():
        print('  %-40s' % step + ''.join(
            ' %12.3f' % _median(by_case[case.label]) for case in spawnflow))


# Setup and teardown ---------------------------------------------------------

def _client(workdir):
    config = workdir / 'spawnflow.conf'
    config.write_text(
        '[DEFAULT]\nstate_path = %s\n[libvirt]\nconnection_uri = %s\n'
        'virt_type = qemu\nwait_for_boot_timeout = %d\n'
        % (workdir / 'state', URI, TIMEOUT))
    client = api.Client(conf=spawnflow_conf.load([str(config)]))
    client.db_sync()
    return client, str(config)


def _clean(client, domains, workdir):
    """Remove every server (all in the bench's own database), domain and
    storage pool (virt-install's) made, whatever state it was left in."""
    for server in client.list() if client is not None else ():
        try:
            client.delete(server['uuid'])
        except Exception as error:  # noqa: BLE001 - clean up the rest
            print('delete %s: %s' % (server['uuid'], error), file=sys.stderr)
        domains.append('instance-%s' % server['uuid'])
    for name in domains:
        _virsh('destroy', name, check=False)
        _virsh('undefine', name, check=False)
    for pool in _virsh('pool-list', '--all', '--name').split():
        try:
            xml = ElementTree.fromstring(_virsh('pool-dumpxml', pool))
        except RuntimeError:
            continue  # removed meanwhile
        if xml.findtext('target/path', '').startswith(str(workdir) + '/'):
            _virsh('pool-destroy', pool, check=False)
            _virsh('pool-undefine', pool, check=False)


def _rounds(cases, rounds):
    """Every case once per round, in turn; round 0 warms up, untimed."""
    samples = collections.defaultdict(list)
    for round_ in range(rounds + 1):
        for index, case in enumerate(cases):
            # What else runs: the load, and others' guests (ours are gone).
            load = os.getloadavg()[0]
            others = len(_virsh('list', '--name').split())
            sample = case.run('bench-%d-%d' % (round_, index))
            if round_:
                samples[case.label].append(sample)
            print('  round %d %-31s %6.2f s (started %.2f, booted %.2f, '
                  'host %.2f, guest up %s; load %.1f, %d other guests)%s' % (
                      round_, case.label, sample.seconds, sample.started,
                      sample.seen - sample.started, _host(sample),
                      sample.guest_up, load, others,
                      '' if round_ else ' warm-up'), flush=True)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--image', default=str(TINY_GUEST),
                        help='the tiny guest (default: %(default)s)')
    args = parser.parse_args()
    # Killed or interrupted, the domains and files made are removed too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    image = pathlib.Path(args.image).resolve()
    if not image.is_file():
        sys.exit('%s missing: `make tiny-guest` builds it' % image)
    _ensure_libvirt()
    _ensure_virt_install()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-boot-',
                                            dir='/var/tmp'))
    os.chmod(workdir, 0o755)  # QEMU opens the disks and the console log
    domains = []
    client = None
    try:
        print(_context(image))
        # A copy, so that a rebuild of the image meanwhile changes nothing.
        image = pathlib.Path(shutil.copy(image, workdir / image.name))
        client, config = _client(workdir)
        image_id = client.image_create('tiny', str(image), 'qcow2')['id']
        for directory in ('floor', 'virt-install'):
            (workdir / directory).mkdir()
        cases = [Floor(workdir / 'floor', image, domains),
                 VirtInstall(workdir / 'virt-install', image, domains),
                 Spawnflow(client, image_id),
                 SpawnflowCli(client, image_id, config, workdir)]
        samples = _rounds(cases, args.rounds)
        print()
        _print_table(cases, samples)
        _print_steps(cases, samples)
    finally:
        _clean(client, domains, workdir)
        if client is not None:
            client.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
