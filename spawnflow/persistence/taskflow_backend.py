"""TaskFlow's SQL persistence on spawnflow's own engine.

TaskFlow's stock backend builds a new ``Connection`` (a fresh MetaData and
every Table) for each state save, which defeats SQLAlchemy's statement
cache; the tables never change, so one connection serves the whole process.

Its saves also read before they write: an atom save selects the row and
merges into it, a flow save (each flow state change) reads every atom of
the flow and rewrites them all, and a logbook save reads the whole book.
TaskFlow's storage always saves whole, current details (clones of what it
holds) and saves each atom change with an atom save, so here the atom
saves of a transaction are one UPDATE (a CASE on the uuid per column), a
flow save updates the flow row and inserts only the atoms not known to
be saved (as their latest saves have them), and a logbook save writes
each row by its uuid (an INSERT that updates the row it finds: one
statement).

A save that changes nothing but an atom's progress (TaskFlow saves the
0.0 a task reports as it starts, the 1.0 after its result, and whatever
it reports between) is not written: the progress goes to the database
with the atom's next state or result, and meanwhile to the listeners,
which are all that read it.

A flow runs on a ``FencedBackend``, whose saves are written when work
begins: an atom's save that starts its task or its revert (RUNNING,
REVERTING) is written at once, fence-checked, before the task runs, and
in the same transaction every save of the flow that waited for it (the
result of the task before, the flow's own RUNNING state). A save that
ends a run of the engine (the flow's SUCCESS, REVERTED, FAILURE or
SUSPENDED) is written at once too, as is SUSPENDING, and so is the end of
a task while another of the flow is at work (a parallel part, whose next
save may be long in coming). So a task costs one commit, not TaskFlow's
four, and each result is in the database before the next task of its
flow starts; a crash loses at most the results of tasks no later task
has started after, which resuming runs again (every task is idempotent),
as it runs again a task that was RUNNING. The flow's action events are
written in the same transactions (persistence.action_events).

Database errors are translated and the transient ones retried as in
spawnflow's own repository (persistence.errors), and the failures saved
with atoms (exception text, traceback) are masked of secrets first.

Each of a flow's transactions first checks that its owner still holds
the flow (the owner's fencing token, spawnflow.ownership.Fence), so the
saves of an owner whose flow was taken over never land. The check is a
condition of the transaction's first UPDATE (ownership.HELD), which
locks the owner row as a read FOR UPDATE would: on PostgreSQL a save is
then BEGIN, one UPDATE and COMMIT, where a read of the token first was
one more round trip.

Finding unfinished flows reads only them: one query on the flow details'
state, then those details and their atoms, however much history is kept.
"""

import collections
import importlib
import json
import threading

from oslo_utils import timeutils
import sqlalchemy as sa
from taskflow import exceptions as tf_exceptions
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence import models
from taskflow import states

from spawnflow import ownership
from spawnflow.persistence import errors
from spawnflow import retry
from spawnflow import secrets


#: An atom's meta keys that only its progress sets.
PROGRESS_KEYS = ('progress', 'progress_details')
#: Atoms whose last save a connection remembers, to know a save that
#: changes only the progress (a forgotten atom's next save is written),
#: and flows whose atom rows it knows (a forgotten one's are read again).
REMEMBERED_ATOMS = 4096
#: Flow states other than SUCCESS and REVERTED, named (not "not in"), so
#: that the index on flowdetails.state finds them (migration 0007).
UNFINISHED = (states.PENDING, states.RUNNING, states.FAILURE,
              states.SUSPENDING, states.SUSPENDED, states.RESUMING)
#: Atom states that begin work with effects outside (a task's execute or
#: revert): a flow's save of one is written, fence-checked, at once.
BEGINS_WORK = (states.RUNNING, states.REVERTING)
#: Flow states written at once: those that end a run of its engine (no
#: save of the flow may follow to carry them), and SUSPENDING (a stop
#: asked for, shown while the running tasks finish, and all a second
#: Ctrl-C leaves).
WRITTEN_AT_ONCE = (states.SUCCESS, states.REVERTED, states.FAILURE,
                   states.SUSPENDED, states.SUSPENDING)


class SQLBackend(impl_sqlalchemy.SQLAlchemyBackend):
    """The stock SQLAlchemy backend, with one lean connection."""

    def __init__(self, engine, retry_policy=None):
        super().__init__({'connection': engine.url.render_as_string(
            hide_password=True)}, engine=engine)
        self.retry = retry_policy or retry.Policy(0, 0, 0)
        self._connection = None

    def fenced(self, fence, events=None, detail=None):
        """This backend for one flow's engine (FencedBackend): its saves
        check ``fence``, wait for the flow's next beginning of work, and
        carry the action ``events`` they make; ``detail`` is the flow's
        saved detail, when it had run before."""
        return FencedBackend(self, fence, events, detail)

    def get_connection(self):
        if self._connection is None:
            self._connection = Connection(self,
                                          upgrade_lock=self._upgrade_lock)
            self._connection.validate()
        return self._connection


class Connection(impl_sqlalchemy.Connection):
    """Saves that write without reading first, through statements built
    once (bound parameters, so SQLAlchemy does not coerce values anew).
    Called as TaskFlow calls a connection, each save is written at once;
    a FencedBackend writes a flow's saves together (write())."""

    def __init__(self, backend, upgrade_lock):
        super().__init__(backend, upgrade_lock)
        dialect = self._engine.dialect.name
        self._update_atoms = _UpdateByUuid(self._tables.atomdetails,
                                           'atom details')
        self._update_flow = _UpdateByUuid(self._tables.flowdetails,
                                          'flow details')
        self._insert_atom = self._tables.atomdetails.insert()
        self._upsert_flow = _upsert(dialect, self._tables.flowdetails,
                                    ('updated_at', 'meta', 'name', 'state'))
        self._upsert_book = _upsert(dialect, self._tables.logbooks,
                                    ('created_at', 'updated_at', 'meta',
                                     'name'))
        #: Atom uuid -> its last save without progress (as text).
        self._saved_atoms = _Remembered(REMEMBERED_ATOMS)
        #: Flow uuid -> the uuids of all its atoms that have rows (known
        #: from inserting the flow, or from reading them once).
        self._atom_rows = _Remembered(REMEMBERED_ATOMS)

    def _guarded(self, what, function, *args, **kwargs):
        return errors.guarded(self._backend.retry, self._engine.url, what,
                              function, *args, **kwargs)

    def validate(self, max_retries=0):
        return self._guarded('validate', super().validate, max_retries)

    def upgrade(self):
        return self._guarded('upgrade', super().upgrade)

    def get_logbook(self, book_uuid, lazy=False):
        return self._guarded('get_logbook', super().get_logbook, book_uuid,
                             lazy=lazy)

    def get_logbooks(self, lazy=False):
        return self._guarded('get_logbooks',
                             lambda: list(super(Connection, self)
                                          .get_logbooks(lazy=lazy)))

    def save_logbook(self, book):
        for detail in book:
            for atom_detail in detail:
                _mask_failures(atom_detail)
        return self._guarded('save_logbook', self._write_book, book)

    def get_flow_details(self, fd_uuid, lazy=False):
        return self._guarded('get_flow_details', super().get_flow_details,
                             fd_uuid, lazy=lazy)

    def unfinished_flow_details(self, logbook_uuid=None):
        """Flow details neither SUCCESS nor REVERTED (of one logbook, or
        all), with their atoms; nothing else is read."""
        flowdetails = self._tables.flowdetails
        query = sa.select(flowdetails.c.uuid).where(sa.or_(
            flowdetails.c.state.is_(None),
            flowdetails.c.state.in_(UNFINISHED)))
        if logbook_uuid is not None:
            query = query.where(flowdetails.c.parent_uuid == logbook_uuid)

        def read():
            with self._engine.connect() as conn:
                uuids = list(conn.scalars(query.order_by(
                    flowdetails.c.created_at)))
            details = []
            for uuid in uuids:
                try:
                    details.append(super(Connection, self)
                                   .get_flow_details(uuid))
                except tf_exceptions.NotFound:
                    pass  # its logbook was deleted meanwhile
            return details
        return self._guarded('unfinished_flow_details', read)

    def flow_detail_metas(self, logbook_uuid):
        """The meta of each flow detail of a logbook, without atoms."""
        flowdetails = self._tables.flowdetails

        def read():
            with self._engine.connect() as conn:
                return [self._converter.convert_flow_detail(row._mapping)
                        .meta for row in conn.execute(
                            sa.select(flowdetails).where(
                                flowdetails.c.parent_uuid == logbook_uuid))]
        return self._guarded('flow_detail_metas', read)

    def update_atom_details(self, atom_detail, fence=None):
        if self.progress_only(atom_detail):
            return atom_detail
        self.write([atom_detail], fence)
        return atom_detail

    def update_flow_details(self, flow_detail, fence=None):
        self.write([flow_detail], fence)
        return flow_detail

    def progress_only(self, atom_detail):
        """Whether ``atom_detail`` differs from its last save in its
        progress alone (masking its failures first, as it is saved)."""
        _mask_failures(atom_detail)
        return (self._saved_atoms.get(atom_detail.uuid)
                == _without_progress(atom_detail.to_dict()))

    def write(self, details, fence=None, also=None):
        """Save flow and atom details, in this order, in one transaction
        that first checks ``fence`` and ends with ``also(conn)``."""
        for detail in details:
            if isinstance(detail, models.FlowDetail):
                for atom_detail in detail:
                    _mask_failures(atom_detail)
            else:
                _mask_failures(detail)
        rows = self._guarded('write', self._write, details, fence, also)
        self._remember(rows, details)

    def _remember(self, rows, saved):
        """After a commit: ``rows`` ({flow uuid: its atoms with rows}),
        and the last save of the atoms ``saved``."""
        for flow_uuid, atom_uuids in rows.items():
            self._atom_rows.put(flow_uuid, frozenset(atom_uuids))
        for detail in saved:
            if isinstance(detail, models.AtomDetail):
                self._saved_atoms.put(
                    detail.uuid, _without_progress(detail.to_dict()))

    def _write(self, details, fence, also):
        rows = {}
        flows = [detail for detail in details
                 if isinstance(detail, models.FlowDetail)]
        atoms = [detail for detail in details
                 if isinstance(detail, models.AtomDetail)]
        latest = {atom_detail.uuid: atom_detail for atom_detail in atoms}
        with self._engine.begin() as conn:
            # The transaction's first statement (a flow's update, or else
            # the atoms') checks the fence and locks the owner row.
            inserted = set()
            for flow_detail in flows:
                self._update_flow(conn, [flow_detail.to_dict()], fence)
                fence = None
                rows[flow_detail.uuid], new = self._save_atoms(
                    conn, flow_detail, latest)
                inserted |= new
            self._update_atoms(conn, [atom_detail.to_dict()
                                      for atom_detail in atoms
                                      if atom_detail.uuid not in inserted],
                               fence)
            if also is not None:
                also(conn)
        return rows

    def _save_atoms(self, conn, flow_detail, latest=None):
        """Insert the atoms of a flow detail its rows lack, each as its
        save in ``latest`` (uuid -> detail) has it if there is one; the
        flow's atom rows are read only when this connection does not know
        them. Returns the uuids of the flow's atoms that have rows, and
        those of the atoms inserted."""
        saved = self._atom_rows.get(flow_detail.uuid)
        if saved is None and len(flow_detail):
            atomdetails = self._tables.atomdetails
            saved = set(conn.scalars(
                sa.select(atomdetails.c.uuid)
                .where(atomdetails.c.parent_uuid == flow_detail.uuid)))
        saved = saved or frozenset()
        rows = [dict((latest or {}).get(atom_detail.uuid, atom_detail)
                     .to_dict(), parent_uuid=flow_detail.uuid,
                     atom_type=models.atom_detail_type(atom_detail))
                for atom_detail in flow_detail
                if atom_detail.uuid not in saved]
        if rows:
            conn.execute(self._insert_atom, rows)  # one statement
        inserted = {row['uuid'] for row in rows}
        return saved | inserted, inserted

    def _write_book(self, book):
        rows = {}
        with self._engine.begin() as conn:
            conn.execute(self._upsert_book, book.to_dict())
            for flow_detail in book:
                conn.execute(self._upsert_flow, dict(
                    flow_detail.to_dict(), parent_uuid=book.uuid,
                    updated_at=timeutils.utcnow()))
                rows[flow_detail.uuid], inserted = self._save_atoms(
                    conn, flow_detail)
                self._update_atoms(conn, [
                    atom_detail.to_dict() for atom_detail in flow_detail
                    if atom_detail.uuid not in inserted])
        self._remember(rows, [atom_detail for flow_detail in book
                              for atom_detail in flow_detail])
        return book


class FencedBackend:
    """The shared backend as one flow's engine sees it: its saves check
    the flow's fence, and wait for the flow's next beginning of work or
    end of run (module doc); with ``events`` (ActionEvents), the action
    events they make are written with them."""

    def __init__(self, backend, fence, events=None, detail=None):
        self._backend = backend
        self._fence = fence
        self._events = events
        #: Saves of the flow not written yet, by uuid, oldest first, and
        #: the event changes they made.
        self._waiting = collections.OrderedDict()
        self._waiting_events = []
        #: The flow's atoms at work (their last save began work), from
        #: its saved ``detail`` on.
        self._at_work = {atom.uuid for atom in (detail or ())
                         if atom.state in BEGINS_WORK}
        # Reentrant: a write that finds the claim lost tells the fence,
        # which suspends the engine, which saves (SUSPENDING) meanwhile.
        self._lock = threading.RLock()
        self._writing = False

    def get_connection(self):
        return FencedConnection(self, self._backend.get_connection())

    def close(self):
        pass  # the shared backend outlives its flows

    def save_atom(self, connection, atom_detail):
        """Write at once a save that begins work, and one that ends it
        while another atom is at work (in a parallel part of the flow,
        whose next save may be long in coming); the others wait."""
        with self._lock:
            if atom_detail.state in BEGINS_WORK:
                self._at_work.add(atom_detail.uuid)
                now = True
            else:
                self._at_work.discard(atom_detail.uuid)
                now = bool(self._at_work)
            if self._events is not None:
                self._waiting_events += self._events.changes(atom_detail)
            self._save(connection, atom_detail, now)

    def save_flow(self, connection, flow_detail):
        with self._lock:
            self._save(connection, flow_detail,
                       flow_detail.state in WRITTEN_AT_ONCE)

    def _save(self, connection, detail, now):
        self._waiting.pop(detail.uuid, None)
        self._waiting[detail.uuid] = detail
        if not now or self._writing:
            return  # (a save made while a write runs waits for the next)
        # Flows first: an atom's row may be inserted by its flow's save.
        details = sorted(self._waiting.values(),
                         key=lambda d: not isinstance(d, models.FlowDetail))
        events = list(self._waiting_events)

        def write_events(conn):
            for change in events:
                change.write(conn)
        self._writing = True
        try:
            connection.write(details, self._fence, also=write_events)
        finally:
            self._writing = False
        for written in details:
            if self._waiting.get(written.uuid) is written:
                del self._waiting[written.uuid]
        del self._waiting_events[:len(events)]


class FencedConnection:
    def __init__(self, backend, connection):
        self._backend = backend
        self._connection = connection

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def update_atom_details(self, atom_detail):
        if not self._connection.progress_only(atom_detail):
            self._backend.save_atom(self._connection, atom_detail)
        return atom_detail

    def update_flow_details(self, flow_detail):
        self._backend.save_flow(self._connection, flow_detail)
        return flow_detail

    def save_logbook(self, book):
        raise NotImplementedError('a flow saves its details, not logbooks')

    def close(self):
        pass


class _Remembered:
    """A bounded map (least recently put forgotten first), thread-safe."""

    def __init__(self, size):
        self._size = size
        self._items = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            return self._items.get(key)

    def put(self, key, value):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self._size:
                self._items.popitem(last=False)


def _mask_failures(atom_detail):
    """Failures (an exception's text and traceback) as they are saved:
    masked of any secret a service's error message quoted."""
    for name in ('failure', 'revert_failure'):
        failure = getattr(atom_detail, name, None)
        if failure is not None:
            masked = secrets.masked_failure(failure)
            if masked is not failure:
                setattr(atom_detail, name, masked)


def _without_progress(values):
    """An atom detail's to_dict() without its progress, as text (a copy
    nothing can change in place)."""
    meta = {key: value for key, value in (values.get('meta') or {}).items()
            if key not in PROGRESS_KEYS}
    return json.dumps(dict(values, meta=meta), sort_keys=True, default=repr)


class _UpdateByUuid:
    """Writes whole details over their rows, found by uuid: one UPDATE
    statement however many rows (each column a CASE on the uuid when
    more than one), built once per number of rows, with bound parameters
    (so SQLAlchemy does not coerce values anew). With a fence, the
    statement checks it too (ownership.HELD). Raises NotFound when a
    detail has no row, ClaimLost when the fence refused the write."""

    #: Columns a save leaves: the key, what only the insert sets, and
    #: updated_at (the table's onupdate sets it).
    KEPT = ('uuid', 'parent_uuid', 'atom_type', 'created_at', 'updated_at')

    def __init__(self, table, what):
        self._table = table
        self._what = what
        self._columns = [column for column in table.columns
                         if column.name not in self.KEPT]
        self._statements = {}

    def __call__(self, conn, rows, fence=None):
        """Write ``rows`` (details' to_dict() values), if ``fence`` holds."""
        if not rows:
            if fence is not None:
                fence.check(conn)
            return
        parameters = {} if fence is None else fence.held()
        for number, row in enumerate(rows):
            parameters['uuid_%d' % number] = row['uuid']
            for column in self._columns:
                parameters['%s_%d' % (column.name, number)] = row[
                    column.name]
        statement = self._statement(len(rows), fence is not None)
        if conn.execute(statement, parameters).rowcount != len(rows):
            if fence is not None:
                fence.check(conn)
            raise tf_exceptions.NotFound(
                'No %s found with uuid %s' % (self._what, ', '.join(
                    "'%s'" % row['uuid'] for row in rows)))

    def _statement(self, count, fenced):
        statement = self._statements.get((count, fenced))
        if statement is None:
            uuid = self._table.c.uuid
            keys = [sa.bindparam('uuid_%d' % number, type_=uuid.type)
                    for number in range(count)]

            def value(column):
                bound = [sa.bindparam('%s_%d' % (column.name, number),
                                      type_=column.type)
                         for number in range(count)]
                if count == 1:
                    return bound[0]
                # The column itself as the (never taken) ELSE gives the
                # CASE its type: PostgreSQL types a CASE of bound values
                # alone as text, which it does not turn into an enum.
                return sa.case(*zip(keys, bound), value=uuid, else_=column)
            statement = (
                self._table.update()
                .where(uuid.in_(keys) if count > 1 else uuid == keys[0])
                .values({column.name: value(column)
                         for column in self._columns}))
            if fenced:
                statement = statement.where(ownership.HELD)
            self._statements[(count, fenced)] = statement
        return statement


def _upsert(dialect, table, columns):
    """An INSERT of a detail's row that, when its uuid has a row already,
    writes ``columns`` over it instead: one statement, where an UPDATE
    that finds nothing and then an INSERT are two round trips."""
    statement = importlib.import_module(
        'sqlalchemy.dialects.%s' % dialect).insert(table)
    if dialect == 'mysql':
        return statement.on_duplicate_key_update(
            {name: statement.inserted[name] for name in columns})
    return statement.on_conflict_do_update(
        index_elements=[table.c.uuid],
        set_={name: statement.excluded[name] for name in columns})
