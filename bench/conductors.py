"""Builds per second with 1, 2 and 3 conductors, and what the job board
costs a build, against builds run in the calling process.

All on libvirt's test driver (test:///default: each conductor process has
its own in-memory hypervisor), local images and volumes, one PostgreSQL
database (127.0.0.1:5432 when it answers; else a SQLite file) and Redis
(127.0.0.1:6379 when it answers; else a private redis-server). In one
script, so every row is measured on the same machine at the same time:

- in-process, one at a time: Client.build with no job board (baseline)
- board + 1 conductor, one at a time: Client.build posting and waiting
- board + N conductors, N = 1, 2, 3: all builds posted, then waited for

    .venv/bin/python bench/conductors.py [--builds 40]
"""

import argparse
import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf

LOOPBACK = '127.0.0.1'


def _answers(port):
    try:
        socket.create_connection((LOOPBACK, port), timeout=1).close()
        return True
    except OSError:
        return False


def _free_port():
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _redis(workdir):
    if _answers(6379):
        yield 6379
        return
    port = _free_port()
    process = subprocess.Popen(
        ['redis-server', '--bind', LOOPBACK, '--port', str(port), '--save',
         '', '--dir', str(workdir)], stdout=subprocess.DEVNULL)
    try:
        while not _answers(port):
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def _database(workdir):
    if not _answers(5432):
        yield 'sqlite:///%s/bench.sqlite' % workdir
        return
    name = 'spawnflow_bench_%s' % uuid.uuid4().hex[:8]
    admin = sa.create_engine('postgresql+psycopg2://postgres@%s/postgres'
                             % LOOPBACK, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.exec_driver_sql('CREATE DATABASE %s' % name)
    try:
        yield 'postgresql+psycopg2://postgres@%s/%s' % (LOOPBACK, name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = '%s'" % name)
            conn.exec_driver_sql('DROP DATABASE %s' % name)
        admin.dispose()


def _config(workdir, name, database, redis_port, board):
    path = workdir / ('%s.conf' % name)
    # One state path (images, instance disks) for all, as conductors of a
    # deployment share their instance storage.
    lines = ['[DEFAULT]', 'state_path = %s' % (workdir / 'state'),
             'cpu_allocation_ratio = 1000', 'ram_allocation_ratio = 1000',
             '[database]', 'connection = %s' % database,
             '[conductor]', 'poll_interval = 0.2', 'max_jobs = 4',
             'name = %s' % name]
    if board:
        lines += ['[jobboard]', 'backend = redis', 'port = %d' % redis_port,
                  'namespace = %s' % board]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _build_one_at_a_time(client, image, builds):
    started = time.perf_counter()
    for n in range(builds):
        server = client.build('one-%d' % n, vcpus=1, ram=64, disk=1,
                              image=image)
        assert server['vm_state'] == 'active', server['fault']
    return time.perf_counter() - started


def _build_all(client, image, builds):
    started = time.perf_counter()
    servers = [client.build('all-%d' % n, vcpus=1, ram=64, disk=1,
                            image=image, wait=False) for n in range(builds)]
    for server in servers:
        assert client.wait(server['uuid'], timeout=None)['vm_state'] == \
            'active'
    return time.perf_counter() - started


@contextlib.contextmanager
def _conductors(configs):
    processes = [subprocess.Popen(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         'conductor'], stdout=subprocess.DEVNULL) for config in configs]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--builds', type=int, default=40)
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-'))
    image_file = workdir / 'image.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                    str(image_file), '64M'], check=True)
    board = 'spawnflow-bench-%s' % uuid.uuid4().hex[:8]
    rows = []
    try:
        with _redis(workdir) as redis_port, _database(workdir) as database:
            local_config = _config(workdir, 'local', database, redis_port,
                                   None)
            board_config = _config(workdir, 'poster', database, redis_port,
                                   board)
            conductor_configs = [
                _config(workdir, 'conductor-%d' % n, database, redis_port,
                        board) for n in range(3)]
            with api.Client(conf=spawnflow_conf.load([local_config])) as c:
                c.db_sync()
                image = c.image_create('bench', str(image_file),
                                       'qcow2')['id']
                baseline = _build_one_at_a_time(c, image, args.builds)
            rows.append(('in-process, one at a time', args.builds,
                         baseline))
            with api.Client(conf=spawnflow_conf.load([board_config])) as c:
                with _conductors(conductor_configs[:1]):
                    rows.append(('board, 1 conductor, one at a time',
                                 args.builds,
                                 _build_one_at_a_time(c, image,
                                                      args.builds)))
                for count in (1, 2, 3):
                    with _conductors(conductor_configs[:count]):
                        rows.append(('board, %d conductor%s, all posted'
                                     % (count, 's' if count > 1 else ''),
                                     args.builds,
                                     _build_all(c, image, args.builds)))
            dialect = sa.engine.make_url(database).get_backend_name()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print('libvirt test driver, %s, %d CPUs' % (dialect, os.cpu_count()))
    print('%-38s %7s %9s %11s %10s' % ('how', 'builds', 'builds/s',
                                       'ms/build', 'vs base'))
    for name, builds, seconds in rows:
        print('%-38s %7d %9.2f %11.1f %9.2fx' % (
            name, builds, builds / seconds, 1000 * seconds / builds,
            (builds / seconds) / (args.builds / baseline)))


if __name__ == '__main__':
    main()
