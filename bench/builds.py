"""Builds per second in one process: the full build flow on libvirt's
test driver with the local image and volume stores (a blank volume to
boot from), at 1, 4 and 16 builds at once (threads sharing one Client,
as a conductor's workers do), on a SQLite file and on PostgreSQL.

The goals: serial builds at least twice the issue's measure of the code
before (4.8 builds/s on SQLite, 2.3 on PostgreSQL), and 4 at once at
least 1.6x serial. The cores column says what limits it: a process
using one core at most is held by Python's global interpreter lock.

    .venv/bin/python bench/builds.py [--rounds 5]
"""

import concurrent.futures
import contextlib
import time

from spawnflow import api
from spawnflow import conf as spawnflow_conf

import runner  # bench/runner.py

GROUP = 'builds at once in one process (test driver, local stores)'
CONCURRENCY = (1, 4, 16)
#: Builds per sample.
BUILDS = 16
#: Serial builds per second before issue 12 (the issue's own measure).
BEFORE = {'SQLite file': 4.8, 'PostgreSQL': 2.3}
BOOT_FROM_VOLUME = ('source=blank,destination=volume,size=1,boot-index=0,'
                    'delete-on-termination=true')


def client(workdir, database):
    """A Client on ``database`` with room for many builds at once."""
    config = workdir / 'spawnflow.conf'
    config.write_text('\n'.join([
        '[DEFAULT]', 'state_path = %s' % (workdir / 'state'),
        'cpu_allocation_ratio = 1000', 'ram_allocation_ratio = 1000',
        '[database]', 'connection = %s' % database]) + '\n')
    made = api.Client(conf=spawnflow_conf.load([str(config)]))
    made.db_sync()
    return made


def rate(client, builds, concurrency):
    """Builds per second of ``builds`` builds, ``concurrency`` at once
    (then deleted, untimed)."""
    def build(number):
        server = client.build('bench-%d' % number, flavor='m1.tiny',
                              block_devices=[BOOT_FROM_VOLUME])
        assert server['vm_state'] == 'active', server['fault']
        return server['uuid']
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        uuids = list(pool.map(build, range(builds)))
    result = builds / (time.perf_counter() - started)
    for uuid in uuids:
        client.delete(uuid)
    return result


def cases(setup):
    urls = {'SQLite file': 'sqlite:///%s' % (
        setup.workdir / 'builds.sqlite'),
        'PostgreSQL': setup.postgresql_url('builds')}
    made = []
    for database, url in urls.items():
        shared = setup.stack.enter_context(contextlib.closing(client(
            setup.directory('builds-%s' % database.split()[0]), url)))
        serial = '%s, 1 at a time' % database
        for concurrency in CONCURRENCY:
            if concurrency == 1:
                goal = {'goal': ('>=', 2 * BEFORE[database]),
                        'absolute': True}
            elif concurrency == 4:
                goal = {'goal': ('>=', 1.6)}
            else:
                goal = {}
            made.append(runner.Case(
                GROUP, serial if concurrency == 1 else '%s, %d at once' % (
                    database, concurrency),
                lambda c=shared, n=concurrency: rate(c, BUILDS, n),
                'builds/s', baseline=None if concurrency == 1 else serial,
                **goal))
    return made


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
