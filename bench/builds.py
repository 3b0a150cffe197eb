"""Builds per second in one process: the full build flow on libvirt's
test driver with the local image and volume stores (a blank volume to
boot from), at 1, 4 and 16 builds at once (threads sharing one Client,
as a conductor's workers do), on a SQLite file and on PostgreSQL.

The code before issue 12 (BEFORE_COMMIT, taken from git) and the code of
now run the same serial builds, each in a fresh process of its own
(bench/build_rate.py), in the same rounds: the machine's speed changes
from hour to hour (the same code has given 7 and 10 builds/s on two
days), so the goal is a ratio to the code before, not a rate; and both
run in a fresh process because builds in a long-lived one that holds
much else (make bench's) run up to a third slower. The goals: serial
builds at least twice the code's before, and 4 at once at least 1.6x
serial in the shared process. The cores column says what limits it: a
process using one core at most is held by Python's global interpreter
lock.

    .venv/bin/python bench/builds.py [--rounds 5]
"""

import concurrent.futures
import contextlib
import os
import pathlib
import subprocess
import sys
import time

from spawnflow import api
from spawnflow import conf as spawnflow_conf

import runner  # bench/runner.py

GROUP = 'builds at once in one process (test driver, local stores)'
CONCURRENCY = (1, 4, 16)
#: Builds per sample.
BUILDS = 16
#: The last commit before issue 12's first change (bf1bc4b).
BEFORE_COMMIT = '6809131'
BEFORE = 'before (%s)' % BEFORE_COMMIT
NOW = 'now, own process'
BOOT_FROM_VOLUME = ('source=blank,destination=volume,size=1,boot-index=0,'
                    'delete-on-termination=true')


def _config(workdir, database):
    """A configuration file with room for many builds at once."""
    config = workdir / 'spawnflow.conf'
    config.write_text('\n'.join([
        '[DEFAULT]', 'state_path = %s' % (workdir / 'state'),
        'cpu_allocation_ratio = 1000', 'ram_allocation_ratio = 1000',
        '[database]', 'connection = %s' % database]) + '\n')
    return str(config)


def client(workdir, database):
    """A Client on ``database`` with room for many builds at once."""
    made = api.Client(conf=spawnflow_conf.load([_config(workdir, database)]))
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


def _tree_before(setup):
    """The source tree of BEFORE_COMMIT, from this checkout's git."""
    tree = setup.directory('before')
    archive = subprocess.run(
        ['git', '-C', str(runner.REPO), 'archive',
         BEFORE_COMMIT, 'spawnflow'], capture_output=True, check=True)
    subprocess.run(['tar', '-x', '-C', str(tree)], input=archive.stdout,
                   check=True)
    return tree


def _rate_in_own_process(tree, config):
    """Serial builds per second of the code in ``tree``, in a fresh
    process of its own (bench/build_rate.py)."""
    script = pathlib.Path(__file__).with_name('build_rate.py')
    env = dict(os.environ, PYTHONPATH=str(tree))

    def measure():
        done = subprocess.run([sys.executable, str(script), config,
                               str(BUILDS)], env=env, check=True,
                              capture_output=True, text=True)
        return float(done.stdout.split()[-1])
    return measure


def cases(setup):
    urls = {'SQLite file': lambda purpose: 'sqlite:///%s' % (
        setup.workdir / ('%s.sqlite' % purpose)),
        'PostgreSQL': setup.postgresql_url}
    try:
        tree = _tree_before(setup)
    except subprocess.CalledProcessError as error:
        tree = None
        missing = 'no goal: git has no %s here (%s)' % (
            BEFORE_COMMIT, error.stderr.decode().strip())
    made = []
    for database, url_for in urls.items():
        shared = setup.stack.enter_context(contextlib.closing(client(
            setup.directory('builds-%s' % database.split()[0]),
            url_for('builds'))))
        before = '%s, 1 at a time, %s' % (database, BEFORE)
        if tree is not None:
            for label, name, code, goal in (
                    ('before', before, tree, {}),
                    ('now', '%s, 1 at a time, %s' % (database, NOW),
                     runner.REPO, {'goal': ('>=', 2), 'baseline': before})):
                made.append(runner.Case(GROUP, name, _rate_in_own_process(
                    code, _config(setup.directory('builds-%s-%s' % (
                        label, database.split()[0])),
                        url_for('builds_%s' % label))), 'builds/s', **goal))
        serial = '%s, 1 at a time' % database
        for concurrency in CONCURRENCY:
            if concurrency == 1:
                goal = {} if tree is not None else {'note': missing}
            elif concurrency == 4:
                goal = {'goal': ('>=', 1.6), 'baseline': serial}
            else:
                goal = {'baseline': serial}
            made.append(runner.Case(
                GROUP, serial if concurrency == 1 else '%s, %d at once' % (
                    database, concurrency),
                lambda c=shared, n=concurrency: rate(c, BUILDS, n),
                'builds/s', **goal))
    return made


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
