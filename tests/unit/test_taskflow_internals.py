"""The TaskFlow internals spawnflow's SQL backend builds on
(spawnflow/persistence/taskflow_backend.py), checked against the TaskFlow
installed: a TaskFlow release that changes them fails here, by name,
before a build does. requirements.txt caps taskflow below the next minor
release for the same reason; raise the cap once these pass on it."""

import inspect
import threading

import sqlalchemy as sa
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence.backends.sqlalchemy import tables
from taskflow.persistence import models
from taskflow import states

from spawnflow.persistence import taskflow_backend

#: Columns spawnflow's UPDATE leaves out (keys, or set by the insert).
UNWRITTEN = {'uuid', 'parent_uuid', 'atom_type', 'created_at', 'updated_at'}


def _parameters(function):
    return list(inspect.signature(function).parameters)


def test_overridden_methods_keep_their_signatures():
    base = impl_sqlalchemy.Connection
    assert _parameters(impl_sqlalchemy.SQLAlchemyBackend.__init__) == [
        'self', 'conf', 'engine']
    assert _parameters(base.__init__) == ['self', 'backend', 'upgrade_lock']
    expected = {
        'validate': ['self', 'max_retries'],
        'upgrade': ['self'],
        'get_logbook': ['self', 'book_uuid', 'lazy'],
        'get_logbooks': ['self', 'lazy'],
        'save_logbook': ['self', 'book'],
        'get_flow_details': ['self', 'fd_uuid', 'lazy'],
        'update_atom_details': ['self', 'atom_detail'],
        'update_flow_details': ['self', 'flow_detail'],
    }
    assert {name: _parameters(getattr(base, name))
            for name in expected} == expected


def test_private_attributes_and_tables(tmp_path):
    engine = sa.create_engine('sqlite:///%s' % (tmp_path / 'tf.sqlite'))
    try:
        backend = taskflow_backend.SQLBackend(engine)
        assert backend.engine is engine
        assert isinstance(backend._upgrade_lock, type(threading.Lock()))
        connection = backend.get_connection()
        assert connection._backend is backend
        assert connection._engine is engine
        for table in (connection._tables.atomdetails,
                      connection._tables.flowdetails):
            assert isinstance(table, sa.Table)
            assert {'uuid', 'parent_uuid'} <= set(table.columns.keys())
        assert 'atom_type' in connection._tables.atomdetails.columns
    finally:
        engine.dispose()


def test_details_serialise_to_the_columns_the_update_writes():
    """Every column the one-statement UPDATE binds is a key of to_dict(),
    and the atom type names what TaskFlow reads back."""
    flow = models.FlowDetail('flow', uuid='f1')
    atom = models.TaskDetail('task', uuid='a1')
    flow.add(atom)
    metadata = sa.MetaData()
    fetched = tables.fetch(metadata)  # what Connection builds
    for table, detail in ((fetched.flowdetails, flow),
                          (fetched.atomdetails, atom)):
        written = set(table.columns.keys()) - UNWRITTEN
        assert written <= set(detail.to_dict()), (table.name, written)
    assert models.atom_detail_type(atom) == 'TASK_DETAIL'


def test_saves_round_trip(tmp_path):
    """The backend's own saves (an atom UPDATE, a flow save inserting new
    atoms only) read back through TaskFlow's readers."""
    engine = sa.create_engine('sqlite:///%s' % (tmp_path / 'tf.sqlite'))
    try:
        connection = taskflow_backend.SQLBackend(engine).get_connection()
        connection.upgrade()
        book = models.LogBook('book', uuid='b1')
        flow = models.FlowDetail('flow', uuid='f1')
        book.add(flow)
        connection.save_logbook(book)
        atom = models.TaskDetail('task', uuid='a1')
        flow.add(atom)
        flow.state = 'RUNNING'
        connection.update_flow_details(flow)
        atom.state, atom.results = 'SUCCESS', {'volume_id': 'v1'}
        connection.update_atom_details(atom)
        read = connection.get_flow_details('f1')
        assert read.state == 'RUNNING'
        assert [(a.uuid, a.state, a.results) for a in read] == [
            ('a1', 'SUCCESS', {'volume_id': 'v1'})]
        assert [d.uuid for d in connection.get_logbook('b1')] == ['f1']
    finally:
        engine.dispose()


def test_unfinished_names_every_flow_state_but_the_finished_ones():
    """Finding unfinished flows names their states (for the index): a
    state a TaskFlow release adds must be named too."""
    flow_states = {state for pair in states._ALLOWED_FLOW_TRANSITIONS
                   for state in pair}
    assert set(taskflow_backend.UNFINISHED) == flow_states - {
        states.SUCCESS, states.REVERTED}
