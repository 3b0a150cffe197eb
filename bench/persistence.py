"""How much durable persistence costs a flow, against the in-memory backend.

Runs the same 5-task linear flow (no-op tasks, serial engine) with TaskFlow's
memory backend (the baseline), TaskFlow's stock SQLAlchemy backend on a
SQLite file, and spawnflow's backend on a SQLite file in WAL mode, in one
process, and prints runs per second and the ratio to the baseline.

    .venv/bin/python bench/persistence.py [--seconds 3]
"""

import argparse
import contextlib
import tempfile
import time

import taskflow.engines
from taskflow.patterns import linear_flow
from taskflow.persistence.backends import impl_memory
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow import task

from spawnflow.persistence import api as db_api
from spawnflow.persistence import taskflow_backend


class Noop(task.Task):
    def execute(self):
        return None


def _flow():
    return linear_flow.Flow('bench').add(
        *(Noop('noop-%d' % i) for i in range(5)))


def _rate(backend, seconds):
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()
    runs = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        taskflow.engines.run(_flow(), backend=backend, engine='serial')
        runs += 1
    return runs / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=3.0)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix='spawnflow-bench-')
    cases = [
        ('memory (baseline)', impl_memory.MemoryBackend()),
        ('taskflow stock, SQLite file', impl_sqlalchemy.SQLAlchemyBackend(
            {'connection': 'sqlite:///%s/stock.sqlite' % workdir})),
        ('spawnflow, SQLite file (WAL)', taskflow_backend.SQLBackend(
            db_api.create_engine('sqlite:///%s/spawnflow.sqlite'
                                 % workdir))),
        ('spawnflow, SQLite (WAL, FULL)', taskflow_backend.SQLBackend(
            db_api.create_engine('sqlite:///%s/full.sqlite' % workdir,
                                 sqlite_synchronous='FULL'))),
    ]
    baseline = None
    print('%-32s %10s %10s' % ('backend', 'runs/s', 'vs memory'))
    for name, backend in cases:
        rate = _rate(backend, args.seconds)
        baseline = baseline or rate
        print('%-32s %10.1f %9.2fx' % (name, rate, rate / baseline))


if __name__ == '__main__':
    main()
