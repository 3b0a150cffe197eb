"""spawnflow's TaskFlow connection saves what TaskFlow's stock one saves.

Its saves write without reading first; these tests run real flows (one
succeeding, one failing and reverting) through it and through the stock
backend, and compare what a fresh connection then loads, on SQLite and on
PostgreSQL.
"""

import threading
import time

import pytest
import sqlalchemy as sa
import taskflow.engines
from taskflow import exceptions as tf_exceptions
from taskflow.patterns import linear_flow
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence import models
from taskflow import task

from spawnflow import exception
from spawnflow import ownership
from spawnflow.persistence import api as db_api
from spawnflow.persistence import migration
from spawnflow.persistence import taskflow_backend
from tests import conftest


class Add(task.Task):
    def execute(self, x):
        return x + 1

    def revert(self, x, result, **kwargs):
        return 'undid %s' % (result,)


class Fail(task.Task):
    def execute(self, x):
        raise ValueError('boom at %s' % x)


def _flow(failing):
    flow = linear_flow.Flow('f').add(Add('one', provides='y'),
                                     Add('two', rebind={'x': 'y'}))
    if failing:
        flow.add(Fail('three'))
    return flow


@pytest.fixture(params=['sqlite', 'postgresql'])
def url(request, tmp_path):
    if request.param == 'sqlite':
        return 'sqlite:///%s' % (tmp_path / 'tf.sqlite')
    return request.getfixturevalue('postgresql_url')


def _spawnflow_backend(url):
    backend = taskflow_backend.SQLBackend(db_api.create_engine(url))
    backend.get_connection().upgrade()
    return backend


def _saved(backend, book_uuid):
    """What a fresh connection loads: (flow state, meta) and each atom."""
    (detail,) = impl_sqlalchemy.Connection(
        backend, upgrade_lock=backend._upgrade_lock).get_logbook(book_uuid)
    atoms = {a.name: (a.state, a.intention, a.results, a.revert_results,
                      a.failure and a.failure.exception_str)
             for a in detail}
    return detail.state, detail.meta.get('note'), atoms


@pytest.mark.parametrize('failing', [False, True])
def test_flow_saves_match_the_stock_backend(url, tmp_path, failing):
    stock = impl_sqlalchemy.SQLAlchemyBackend(
        {'connection': 'sqlite:///%s' % (tmp_path / 'stock.sqlite')})
    stock.get_connection().upgrade()
    lean = _spawnflow_backend(url)
    saved = []
    for backend in (stock, lean):
        book = models.LogBook('book')
        detail = models.FlowDetail('f', uuid=book.uuid)
        detail.meta['note'] = 'kept'
        book.add(detail)
        backend.get_connection().save_logbook(book)
        engine = taskflow.engines.load(
            _flow(failing), store={'x': 1}, flow_detail=detail, book=book,
            backend=backend)
        if failing:
            with pytest.raises(ValueError, match='boom at 1'):
                engine.run()
        else:
            engine.run()
        saved.append(_saved(backend, book.uuid))
    assert saved[0] == saved[1]
    state, note, atoms = saved[1]
    assert note == 'kept'
    if failing:
        assert state == 'REVERTED'
        assert atoms['one'][:2] == ('REVERTED', 'REVERT')
        assert atoms['one'][3] == 'undid 2'
        assert atoms['three'][4] == 'boom at 1'
    else:
        assert state == 'SUCCESS'
        assert atoms['two'][:3] == ('SUCCESS', 'EXECUTE', 3)


def test_saves_of_unknown_details_raise_not_found(url):
    connection = _spawnflow_backend(url).get_connection()
    with pytest.raises(tf_exceptions.NotFound):
        connection.update_atom_details(models.TaskDetail('t', 'no-such'))
    with pytest.raises(tf_exceptions.NotFound):
        connection.update_flow_details(models.FlowDetail('f', 'no-such'))


class Reporting(task.Task):
    """Reports its progress along the way, as fetch-image does."""

    def execute(self):
        for fraction in (0.25, 0.5, 0.75):
            self.update_progress(fraction)
        return 'done'


def test_a_task_costs_two_atom_writes_whatever_progress_it_reports(url):
    """Its RUNNING state (before it runs) and its result: TaskFlow's
    saves of progress alone, six more here, are not written."""
    backend = _spawnflow_backend(url)
    writes = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith('UPDATE ATOMDETAILS'):
            writes.append(statement)
    sa.event.listen(backend.engine, 'before_cursor_execute', seen)
    book = models.LogBook('book')
    detail = models.FlowDetail('f', uuid=book.uuid)
    book.add(detail)
    backend.get_connection().save_logbook(book)
    taskflow.engines.run(
        linear_flow.Flow('f').add(Reporting('a'), Reporting('b')),
        flow_detail=detail, book=book, backend=backend)
    sa.event.remove(backend.engine, 'before_cursor_execute', seen)
    assert len(writes) == 4
    state, _note, atoms = _saved(backend, book.uuid)
    assert state == 'SUCCESS'
    assert atoms['a'][:3] == atoms['b'][:3] == ('SUCCESS', 'EXECUTE', 'done')


class ReadsTheDatabase(task.Task):
    """Records, as it runs, what a fresh connection reads of the flow's
    other atoms: what a process resuming after a crash here would find."""

    def __init__(self, name, backend, flow_uuid, seen):
        super().__init__(name)
        self._backend, self._flow_uuid, self._seen = (backend, flow_uuid,
                                                      seen)

    def execute(self):
        atoms = self._backend.get_connection()._tables.atomdetails
        with self._backend.engine.connect() as conn:  # reads, commits none
            rows = conn.execute(sa.select(
                atoms.c.name, atoms.c.state, atoms.c.results).where(
                    atoms.c.parent_uuid == self._flow_uuid))
            self._seen[self.name] = {name: (state, results)
                                     for name, state, results in rows
                                     if not name.startswith('_')}
        return self.name.upper()


def _fenced_flow(url, names, seen):
    """A flow detail saved, its owner row claimed, and a flow of
    ReadsTheDatabase tasks, on spawnflow's schema."""
    engine = db_api.create_engine(url)
    backend = taskflow_backend.SQLBackend(engine)
    migration.sync(engine, backend)
    book = models.LogBook('book')
    detail = models.FlowDetail('f', uuid=book.uuid)
    book.add(detail)
    backend.get_connection().save_logbook(book)
    db = db_api.Database(engine)
    db.flow_owner_create(detail.uuid, book.uuid, 'create', 'h')
    token, _taken = db.flow_claim(detail.uuid, book.uuid, 'create', 'me',
                                  'h')
    fence = ownership.Fence(detail.uuid, 'me', token)
    flow = linear_flow.Flow('f').add(*(
        ReadsTheDatabase(name, backend, detail.uuid, seen)
        for name in names))
    return backend, book, detail, fence, flow


def test_a_flow_saves_once_per_task_each_result_before_the_next_task(url):
    """On a fenced backend (how spawnflow runs flows) a task's result
    waits for the next task's RUNNING save: one commit per task, plus
    the flow's last; and each task finds the results of those before
    it in the database, the one running saved RUNNING."""
    seen = {}
    backend, book, detail, fence, flow = _fenced_flow(
        url, ['a', 'b', 'c'], seen)
    commits = []

    def committed(conn):
        commits.append(conn)
    sa.event.listen(backend.engine, 'commit', committed)
    taskflow.engines.run(flow, flow_detail=detail, book=book,
                         backend=backend.fenced(fence), engine='serial')
    sa.event.remove(backend.engine, 'commit', committed)
    assert len(commits) == 3 + 1
    assert seen['a'] == {'a': ('RUNNING', None), 'b': ('PENDING', None),
                         'c': ('PENDING', None)}
    assert seen['c'] == {'a': ('SUCCESS', 'A'), 'b': ('SUCCESS', 'B'),
                         'c': ('RUNNING', None)}
    state, _note, atoms = _saved(backend, book.uuid)
    assert state == 'SUCCESS'
    assert {name: atom[:3] for name, atom in atoms.items()
            if not name.startswith('_')} == {
        name: ('SUCCESS', 'EXECUTE', name.upper()) for name in 'abc'}


def test_check_claim_refuses_once_another_owner_claimed(url):
    """What a task calls before an external call: nothing while the
    claim is the owner's (or on an unfenced database), ClaimLost once
    another owner claimed the flow."""
    backend, book, detail, fence, _flow = _fenced_flow(url, [], {})
    db = db_api.Database(backend.engine)
    db.fenced(fence).check_claim()
    db.flow_claim(detail.uuid, book.uuid, 'create', 'other', 'h')
    db.check_claim()
    with pytest.raises(exception.ClaimLost):
        db.fenced(fence).check_claim()
    assert fence.lost


def test_a_lost_claim_lands_none_of_the_saves_waiting(url):
    """A takeover while task b runs: b's result and the flow's end,
    which waited for a later save, are refused with it, and the flow
    stays as the new owner found it."""
    seen = {}
    backend, book, detail, fence, flow = _fenced_flow(url, ['a', 'b'], seen)
    db = db_api.Database(backend.engine)

    class TakenOver(task.Task):
        def execute(self):
            db.flow_claim(detail.uuid, book.uuid, 'create', 'other', 'h')
    flow.add(TakenOver('taken-over'), ReadsTheDatabase(
        'never', backend, detail.uuid, seen))
    with pytest.raises(exception.ClaimLost):
        taskflow.engines.run(flow, flow_detail=detail, book=book,
                             backend=backend.fenced(fence), engine='serial')
    assert 'never' not in seen
    state, _note, atoms = _saved(backend, book.uuid)
    assert state == 'RUNNING'
    assert atoms['b'][:3] == ('SUCCESS', 'EXECUTE', 'B')
    assert atoms['taken-over'][0] == 'RUNNING'  # its end never landed


def test_a_fenced_flow_writes_a_statement_per_task_the_fence_in_it(url):
    """What a fenced run sends: per task one UPDATE of the atoms (the
    result of the task before and its own RUNNING) that checks the fence
    itself, the first task's also the flow's state and its atoms'
    insert, the last the flow's end; no read of the owner row."""
    backend, book, detail, fence, flow = _fenced_flow(
        url, ['a', 'b', 'c'], {})
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(' '.join(statement.split()[:3]).upper())
    sa.event.listen(backend.engine, 'before_cursor_execute', seen)
    taskflow.engines.run(flow, flow_detail=detail, book=book,
                         backend=backend.fenced(fence), engine='serial')
    sa.event.remove(backend.engine, 'before_cursor_execute', seen)
    statements = [s for s in statements  # less the tasks' own reads
                  if not s.startswith(('BEGIN', 'SELECT ATOMDETAILS.NAME'))]
    assert statements == [
        'UPDATE FLOWDETAILS SET', 'INSERT INTO ATOMDETAILS',  # a RUNNING
        'UPDATE ATOMDETAILS SET',  # a's result, b RUNNING
        'UPDATE ATOMDETAILS SET',  # b's result, c RUNNING
        'UPDATE FLOWDETAILS SET', 'UPDATE ATOMDETAILS SET']  # the end
    state, _note, atoms = _saved(backend, book.uuid)
    assert state == 'SUCCESS'
    assert {name: atom[:3] for name, atom in atoms.items()} == {
        name: ('SUCCESS', 'EXECUTE', name.upper()) for name in 'abc'}


#: Lock waits a server shows, read from another session. (InnoDB renews
#: what information_schema shows of its transactions only after 0.1 s
#: without a read of it: the looks are 0.2 s apart.)
_LOCK_WAITS = {
    'postgresql': "SELECT count(*) FROM pg_stat_activity WHERE "
                  "datname = current_database() AND wait_event_type = 'Lock'",
    'mariadb': "SELECT count(*) FROM information_schema.innodb_trx "
               "WHERE trx_state = 'LOCK WAIT'",
}


@pytest.mark.parametrize('database', sorted(_LOCK_WAITS))
def test_a_save_waiting_on_a_takeover_in_progress_is_refused(
        request, tmp_path, database):
    """The fence a save's own statement checks locks the owner row, as a
    read FOR UPDATE would: a save made while a takeover's transaction
    holds the row waits for it, then finds the new token and lands
    nothing."""
    with conftest.fresh_database(request, database, tmp_path,
                                 'fence') as url:
        backend, book, detail, fence, _flow = _fenced_flow(url, [], {})
        atom = models.TaskDetail('a', 'a-uuid')
        atom.state = 'PENDING'
        detail.add(atom)
        connection = backend.get_connection()
        connection.save_logbook(book)
        atom.state = 'RUNNING'
        outcome = []

        def save():
            try:
                connection.write([atom], fence)
            except Exception as error:
                outcome.append(error)
        owners = db_api.models.flow_owners
        with backend.engine.begin() as takeover:
            takeover.execute(owners.update().where(
                owners.c.flow_uuid == detail.uuid).values(token='other'))
            saver = threading.Thread(target=save)
            saver.start()
            deadline = time.monotonic() + 30
            with backend.engine.connect() as watcher:
                while not watcher.scalar(sa.text(_LOCK_WAITS[database])):
                    assert saver.is_alive(), outcome
                    assert time.monotonic() < deadline, 'no lock wait'
                    watcher.rollback()  # a fresh snapshot each look
                    time.sleep(0.2)
        saver.join(30)
        assert not saver.is_alive()
        assert [type(error) for error in outcome] == [exception.ClaimLost]
        assert fence.lost
        _state, _note, atoms = _saved(backend, book.uuid)
        assert atoms['a'][0] == 'PENDING'
