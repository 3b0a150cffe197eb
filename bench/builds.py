"""Builds per second in one process: the full build flow on libvirt's
test driver with the local image and volume stores, at 1, 4 and 16
builds at once (threads sharing one Client, as a conductor's workers
do), on a SQLite file and on PostgreSQL (127.0.0.1:5432 when it
answers), every case in each round before the next round.

    .venv/bin/python bench/builds.py [--builds 32] [--rounds 3]
"""

import argparse
import concurrent.futures
import contextlib
import pathlib
import shutil
import statistics
import tempfile
import time

from spawnflow import api
from spawnflow import conf as spawnflow_conf

import conductors  # bench/conductors.py (its directory is on sys.path)

CONCURRENCY = (1, 4, 16)
BOOT_FROM_VOLUME = ('source=blank,destination=volume,size=1,boot-index=0,'
                    'delete-on-termination=true')


def _client(workdir, name, database):
    config = workdir / ('%s.conf' % name)
    config.write_text('\n'.join([
        '[DEFAULT]', 'state_path = %s' % (workdir / name),
        'cpu_allocation_ratio = 1000', 'ram_allocation_ratio = 1000',
        '[database]', 'connection = %s' % database]) + '\n')
    client = api.Client(conf=spawnflow_conf.load([str(config)]))
    client.db_sync()
    return client


def _rate(client, builds, concurrency):
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
    rate = builds / (time.perf_counter() - started)
    for uuid in uuids:
        client.delete(uuid)
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--builds', type=int, default=32)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-'))
    try:
        with contextlib.ExitStack() as stack:
            databases = {'SQLite file': 'sqlite:///%s/bench.sqlite' % workdir}
            postgresql = stack.enter_context(conductors._database(workdir))
            if postgresql.startswith('postgresql'):
                databases['PostgreSQL'] = postgresql
            clients = {name: stack.enter_context(contextlib.closing(
                _client(workdir, 'db%d' % index, url)))
                for index, (name, url) in enumerate(databases.items())}
            rates = {}
            for _round in range(args.rounds):
                for name, client in clients.items():
                    for concurrency in CONCURRENCY:
                        rates.setdefault((name, concurrency), []).append(
                            _rate(client, args.builds, concurrency))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print('%-14s %12s %12s %10s' % ('database', 'at once', 'builds/s',
                                    'x serial'))
    for (name, concurrency), samples in rates.items():
        serial = statistics.median(rates[(name, 1)])
        rate = statistics.median(samples)
        print('%-14s %12d %12.2f %10.2f' % (name, concurrency, rate,
                                            rate / serial))


if __name__ == '__main__':
    main()
