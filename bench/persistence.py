"""How much durable persistence costs a flow, against the in-memory backend.

Runs per second of two flows, each with TaskFlow's memory backend (the
baseline), TaskFlow's stock SQLAlchemy backend, and spawnflow's backend as
spawnflow runs flows (a FencedBackend: fence-checked saves, one commit
per task, the action events with them), on a SQLite file (WAL) and on
PostgreSQL:

- a 5-task linear flow of no-op tasks (serial engine);
- the full build flow (libvirt's test driver, the local image and volume
  stores, a blank volume to boot from), through spawnflow's Engine, whose
  backend is swapped for the memory and stock cases (which then record
  no action events: spawnflow's backend writes those too).

    .venv/bin/python bench/persistence.py [--rounds 5]
"""

import contextlib
import time
import uuid as uuidlib

import taskflow.engines
from taskflow import exceptions as tf_exceptions
from taskflow.patterns import linear_flow
from taskflow.persistence.backends import impl_memory
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence import models
from taskflow import states
from taskflow import task

from spawnflow import ownership
from spawnflow.persistence import api as db_api
from spawnflow.persistence import migration
from spawnflow.persistence import taskflow_backend

import builds  # bench/builds.py
import runner  # bench/runner.py

NOOP = '5-task no-op flow (serial engine), runs per second'
BUILD = 'full build flow (test driver, local stores), builds per second'
#: How long one sample of the no-op flow runs at least, and in how many
#: runs at least (the stock backend's runs take 0.15 to 0.25 s here: a
#: sample of two or three of them would move by a third), and builds per
#: sample.
NOOP_SECONDS = 0.5
NOOP_RUNS = 8
BUILDS = 4


class Noop(task.Task):
    def execute(self):
        return None


def _flow():
    return linear_flow.Flow('bench').add(
        *(Noop('noop-%d' % i) for i in range(5)))


def _rate(run, seconds=NOOP_SECONDS, at_least=NOOP_RUNS):
    runs = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or runs < at_least:
        run()
        runs += 1
    return runs / (time.perf_counter() - started)


def _taskflow_runs(backend):
    with contextlib.closing(backend.get_connection()) as conn:
        conn.upgrade()

    def sample():
        _forget(backend)
        return _rate(lambda: taskflow.engines.run(
            _flow(), backend=backend, engine='serial'))
    return sample


def _forget(backend):
    """Empty a memory backend: it keeps every logbook it was given, and a
    process holding thousands slows every case it runs (its garbage
    collector walks them all)."""
    if isinstance(backend, impl_memory.MemoryBackend):
        backend.get_connection().clear_all()


def _spawnflow_runs(url, sqlite_synchronous='NORMAL'):
    """Runs as spawnflow's Engine makes them: the flow detail saved with
    its logbook, then run on a FencedBackend (one owner row and its
    fence serve every run: the check costs the same)."""
    engine = db_api.create_engine(url, sqlite_synchronous=sqlite_synchronous)
    backend = taskflow_backend.SQLBackend(engine)
    migration.sync(engine, backend)
    db = db_api.Database(engine)
    flow_uuid = str(uuidlib.uuid4())
    db.flow_owner_create(flow_uuid, flow_uuid, 'bench', 'bench')
    token, _taken_over = db.flow_claim(flow_uuid, flow_uuid, 'bench',
                                       'bench', 'bench')
    fence = ownership.Fence(flow_uuid, 'bench', token)

    def run():
        book = models.LogBook('bench')
        detail = models.FlowDetail('bench', uuid=str(uuidlib.uuid4()))
        book.add(detail)
        backend.get_connection().save_logbook(book)
        taskflow.engines.run(_flow(), flow_detail=detail, book=book,
                             backend=backend.fenced(fence), engine='serial')
    return lambda: _rate(run)


class _AsEngineBackend:
    """A TaskFlow backend in the place of spawnflow's in its Engine: no
    fence, no action events (for comparison only)."""

    def __init__(self, backend):
        self._backend = backend

    def fenced(self, fence, events=None, detail=None):
        return self._backend

    def get_connection(self):
        return _AsEngineConnection(self._backend.get_connection())


class _AsEngineConnection:
    def __init__(self, connection):
        self._connection = connection

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def unfinished_flow_details(self, logbook_uuid):
        """What a delete asks: the instance's flows not finished."""
        try:
            book = self._connection.get_logbook(logbook_uuid)
        except tf_exceptions.NotFound:
            return []
        return [detail for detail in book
                if detail.state not in (states.SUCCESS, states.REVERTED)]


def _build_rate(client, backend=None):
    def sample():
        if backend is not None:
            _forget(backend)
        return builds.rate(client, BUILDS, 1)
    return sample


def cases(setup):
    urls = {'SQLite file': lambda purpose: 'sqlite:///%s' % (
        setup.workdir / ('%s.sqlite' % purpose)),
        'PostgreSQL': setup.postgresql_url}
    noop = [runner.Case(NOOP, 'memory', _taskflow_runs(
        impl_memory.MemoryBackend()), 'runs/s')]
    build = []
    for database, url_for in urls.items():
        stock_url = url_for('noop_stock')
        noop += [
            runner.Case(NOOP, 'taskflow stock SQL, %s' % database,
                        _taskflow_runs(impl_sqlalchemy.SQLAlchemyBackend(
                            {'connection': stock_url})), 'runs/s',
                        baseline='memory'),
            runner.Case(NOOP, 'spawnflow, %s' % database,
                        _spawnflow_runs(url_for('noop_spawnflow')), 'runs/s',
                        baseline='memory', **(
                            {'goal': ('>=', 0.85)} if database == 'SQLite file'
                            else {'goal': ('>=', 10), 'goal_against':
                                  'taskflow stock SQL, PostgreSQL'}))]
        clients, memory = {}, impl_memory.MemoryBackend()
        for kind in ('memory', 'taskflow stock SQL', 'spawnflow'):
            url = url_for('build_%s' % kind.split()[0])
            client = clients[kind] = setup.stack.enter_context(
                contextlib.closing(builds.client(
                    setup.directory('build-%s-%s' % (
                        kind.split()[0], database.split()[0])), url)))
            if kind == 'memory':
                client.engine.backend = _AsEngineBackend(memory)
            elif kind == 'taskflow stock SQL':
                client.engine.backend = _AsEngineBackend(
                    impl_sqlalchemy.SQLAlchemyBackend({'connection': url}))
        base = 'memory, %s' % database
        build += [runner.Case(BUILD, '%s, %s' % (kind, database),
                              _build_rate(client, memory if kind == 'memory'
                                          else None), 'builds/s',
                              baseline=None if kind == 'memory' else base)
                  for kind, client in clients.items()]
    noop.append(runner.Case(
        NOOP, 'spawnflow, SQLite file, [database] sqlite_synchronous = FULL',
        _spawnflow_runs(urls['SQLite file']('noop_full'), 'FULL'), 'runs/s',
        baseline='spawnflow, SQLite file'))
    return noop + build


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
