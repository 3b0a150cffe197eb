"""Conductor processes on a real job board (redis-server), a real database
server and qemu:///system, for the tests that kill, pause and stop them."""

import contextlib
import pathlib
import subprocess
import sys
import urllib.request

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests import conftest
from tests.crash import conftest as crash_conftest
from tests.fixtures import libvirt_qemu
from tests.fixtures import metrics
from tests.fixtures import openstack as osf

#: Each build: one blank volume, deleted with the instance.
BLANK = crash_conftest.BLANK


class Conductor:
    """One ``spawnflow conductor`` process."""

    def __init__(self, setup, name):
        self.name = name
        self.metrics_port = osf.free_port()
        config = setup.workdir / ('%s.conf' % name)
        config.write_text('[conductor]\nname = %s\nmetrics_port = %d\n'
                          % (name, self.metrics_port))
        self.log = setup.workdir / ('%s.log' % name)
        with open(self.log, 'w') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'spawnflow.cli.main', '-v',
                 '--config-file', str(setup.config), '--config-file',
                 str(config), 'conductor'],
                stdout=log, stderr=subprocess.STDOUT)
        osf.wait_for(self._serving, timeout=60,
                     what='conductor %s to start' % name,
                     alive=self._alive)

    def _alive(self):
        if self.process.poll() is not None:
            raise AssertionError('conductor %s exited %s:\n%s' % (
                self.name, self.process.returncode, osf.tail(self.log)))

    def _serving(self):
        try:
            return bool(self.scrape())
        except OSError:
            return False

    def scrape(self):
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics'
                                    % self.metrics_port,
                                    timeout=10) as answer:
            return answer.read().decode()

    def count(self, metric, labels=''):
        """A metric's value from a scrape of /metrics."""
        return metrics.value(self.scrape(), metric, labels)

    def signal(self, signum):
        self.process.send_signal(signum)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()  # (SIGKILL ends a stopped process too)
        self.process.wait(timeout=60)


class BoardSetup:
    """A deployment of conductors: shared config, database, image."""

    def __init__(self, workdir, config, image):
        self.workdir = workdir
        self.config = config
        self.image = image
        self.conductors = []

    def client(self):
        return api.Client(conf=spawnflow_conf.load([str(self.config)]))

    def start(self, name):
        conductor = Conductor(self, name)
        self.conductors.append(conductor)
        return conductor

    def post_builds(self, client, count, prefix='build'):
        return [client.build('%s-%d' % (prefix, n), vcpus=1, ram=64, disk=1,
                             image=self.image['id'], block_devices=[BLANK],
                             wait=False)
                for n in range(count)]


def settled(client, servers):
    """Whether every server's build ended (not BUILD any more)."""
    return all(client.db.instance_get(s['uuid'])['vm_state'] != 'building'
               for s in servers)


def executions(client, uuid):
    """[(task, owner, start time)] of the build's task executions."""
    (create,) = [a for a in client.actions(uuid) if a['action'] == 'create']
    return [(e['event'], e['host'], e['start_time'])
            for e in create['events']]


def owned_by(client, name):
    """The job board's jobs ``name`` holds now."""
    return [job for job in client.jobs() if job['owner'] == name]


@contextlib.contextmanager
def board_setup(request, claim_expiry, max_jobs):
    """Conductors' shared configuration on Redis, qemu:///system and a
    fresh database on the server ``request.param`` names (postgresql,
    mariadb), with a local image; their domains are undefined and their
    processes killed at the end."""
    qemu_uri = request.getfixturevalue('qemu_uri')
    redis_server = request.getfixturevalue('redis_server')
    namespace = request.getfixturevalue('jobboard_namespace')
    server = request.getfixturevalue('%s_server' % request.param)
    with server.database('conductors') as database_url:
        with _board_setup(qemu_uri, redis_server, namespace, database_url,
                          claim_expiry, max_jobs) as setup:
            yield setup


@contextlib.contextmanager
def _board_setup(qemu_uri, redis_server, namespace, database_url,
                 claim_expiry, max_jobs):
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    config = conftest.write_config(
        workdir / 'spawnflow.conf', workdir / 'state',
        connection=database_url,
        extra='[DEFAULT]\ncpu_allocation_ratio = 64\n'
        'max_concurrent_builds = 4\n'
        '[database]\nidle_transaction_timeout = 3\n'
        '[libvirt]\nconnection_uri = %s\nvirt_type = qemu\n'
        '[conductor]\nmax_jobs = %d\npoll_interval = 0.1\n'
        'defer_interval = 0.5\n' % (qemu_uri, max_jobs)
        + redis_server.config(namespace, claim_expiry))
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        image = client.image_create(
            'conductors', conftest.make_qcow2(workdir / 'i.qcow2'), 'qcow2')
    setup = BoardSetup(workdir, pathlib.Path(config), image)
    try:
        yield setup
    finally:
        for conductor in setup.conductors:
            conductor.stop()
        crash_conftest._tear_down(workdir, config)
