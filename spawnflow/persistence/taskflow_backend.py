"""TaskFlow's SQL persistence on spawnflow's own engine.

TaskFlow's stock backend builds a new ``Connection`` (a fresh MetaData and
every Table) for each state save, which defeats SQLAlchemy's statement
cache; the tables never change, so one connection serves the whole process.

Its saves also read before they write: an atom save selects the row and
merges into it, a flow save (each flow state change) reads every atom of
the flow and rewrites them all, and a logbook save reads the whole book.
TaskFlow's storage always saves whole, current details (clones of what it
holds) and saves each atom change with an atom save, so here an atom save
is one UPDATE, a flow save updates the flow row and inserts only the
atoms not known to be saved, and a logbook save writes each row by its
uuid (an UPDATE, or an INSERT where there was none).

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
saves of an owner whose flow was taken over never land.

Finding unfinished flows reads only them: one query on the flow details'
state, then those details and their atoms, however much history is kept.
"""

import collections
import json
import threading

import sqlalchemy as sa
from taskflow import exceptions as tf_exceptions
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence import models
from taskflow import states

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
        self._update_atom = _update_by_uuid(self._tables.atomdetails)
        self._update_flow = _update_by_uuid(self._tables.flowdetails)
        self._update_book = _update_by_uuid(self._tables.logbooks)
        self._insert_atom = self._tables.atomdetails.insert()
        self._insert_flow = self._tables.flowdetails.insert()
        self._insert_book = self._tables.logbooks.insert()
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
        with self._engine.begin() as conn:
            if fence is not None:
                fence.check(conn)
            for detail in details:
                if isinstance(detail, models.FlowDetail):
                    if conn.execute(self._update_flow,
                                    _by_uuid(detail.to_dict())
                                    ).rowcount == 0:
                        raise tf_exceptions.NotFound(
                            "No flow details found with uuid '%s'"
                            % detail.uuid)
                    rows[detail.uuid] = self._save_atoms(conn, detail,
                                                         update=False)
                else:
                    self._write_atom(conn, detail)
            if also is not None:
                also(conn)
        return rows

    def _write_atom(self, conn, atom_detail):
        result = conn.execute(self._update_atom,
                              _by_uuid(atom_detail.to_dict()))
        if result.rowcount == 0:
            raise tf_exceptions.NotFound(
                "No atom details found with uuid '%s'" % atom_detail.uuid)

    def _save_atoms(self, conn, flow_detail, update, new_flow=False):
        """Insert the atoms of a flow detail its rows lack, and with
        ``update`` write the others; the flow's atom rows are read only
        when this connection does not know them. Returns the uuids of
        the flow's atoms that have rows."""
        if new_flow:
            saved = set()
        else:
            saved = self._atom_rows.get(flow_detail.uuid)
            if saved is None:
                atomdetails = self._tables.atomdetails
                saved = set(conn.scalars(
                    sa.select(atomdetails.c.uuid)
                    .where(atomdetails.c.parent_uuid == flow_detail.uuid)))
        rows = []
        for atom_detail in flow_detail:
            if atom_detail.uuid in saved:
                if update:
                    self._write_atom(conn, atom_detail)
                continue
            rows.append(dict(atom_detail.to_dict(),
                             parent_uuid=flow_detail.uuid,
                             atom_type=models.atom_detail_type(atom_detail)))
        if rows:
            conn.execute(self._insert_atom, rows)  # one statement
        return set(saved) | {row['uuid'] for row in rows}

    def _write_book(self, book):
        with self._engine.begin() as conn:
            if conn.execute(self._update_book,
                            _by_uuid(book.to_dict())).rowcount == 0:
                conn.execute(self._insert_book, book.to_dict())
            rows = {}
            for flow_detail in book:
                new_flow = conn.execute(
                    self._update_flow,
                    _by_uuid(flow_detail.to_dict())).rowcount == 0
                if new_flow:
                    conn.execute(self._insert_flow, dict(
                        flow_detail.to_dict(), parent_uuid=book.uuid))
                rows[flow_detail.uuid] = self._save_atoms(
                    conn, flow_detail, update=True, new_flow=new_flow)
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


def _update_by_uuid(table):
    """UPDATE of every column a detail's to_dict() has, by its uuid."""
    columns = [c.name for c in table.columns
               if c.name not in ('uuid', 'parent_uuid', 'atom_type',
                                 'created_at', 'updated_at')]
    return (table.update()
            .where(table.c.uuid == sa.bindparam('_uuid'))
            .values({name: sa.bindparam(name) for name in columns}))


def _by_uuid(values):
    """to_dict() values as the parameters of an _update_by_uuid statement."""
    values = dict(values)
    values['_uuid'] = values.pop('uuid')
    return values
