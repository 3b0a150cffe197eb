"""TaskFlow's SQL persistence on spawnflow's own engine.

TaskFlow's stock backend builds a new ``Connection`` (a fresh MetaData and
every Table) for each state save, which defeats SQLAlchemy's statement
cache; the tables never change, so one connection serves the whole process.

Its saves also read before they write: an atom save selects the row and
merges into it, and a flow save (each flow state change) reads every atom
of the flow and rewrites them all. TaskFlow's storage always saves whole,
current details (clones of what it holds) and saves each atom change with
an atom save, so here an atom save is one UPDATE, and a flow save updates
the flow row and inserts only the atoms it has not saved yet. Each save is
still one transaction, committed before the engine goes on.

A save that changes nothing but an atom's progress (TaskFlow saves the
0.0 a task reports as it starts, the 1.0 after its result, and whatever
it reports between) is not written: the progress goes to the database
with the atom's next state or result, and meanwhile to the listeners,
which are all that read it. What resuming needs (each atom's state, its
intention, its result) is saved as before, with the atom's RUNNING state
written, fence-checked, before its task runs. So a task costs two
commits where TaskFlow makes four.

Database errors are translated and the transient ones retried as in
spawnflow's own repository (persistence.errors), and the failures saved
with atoms (exception text, traceback) are masked of secrets first.

A flow runs on a ``FencedBackend``: each of its saves first checks, in
the same transaction, that its owner still holds the flow (the owner's
fencing token, spawnflow.ownership.Fence), so the saves of an owner whose
flow was taken over never land.

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
#: changes only the progress (a forgotten atom's next save is written).
REMEMBERED_ATOMS = 4096


class SQLBackend(impl_sqlalchemy.SQLAlchemyBackend):
    """The stock SQLAlchemy backend, with one lean connection."""

    def __init__(self, engine, retry_policy=None):
        super().__init__({'connection': engine.url.render_as_string(
            hide_password=True)}, engine=engine)
        self.retry = retry_policy or retry.Policy(0, 0, 0)
        self._connection = None

    def fenced(self, fence):
        """This backend for one flow's engine: its saves check ``fence``."""
        return FencedBackend(self, fence)

    def get_connection(self):
        if self._connection is None:
            self._connection = Connection(self,
                                          upgrade_lock=self._upgrade_lock)
            self._connection.validate()
        return self._connection


class Connection(impl_sqlalchemy.Connection):
    """Saves that write without reading first, through statements built
    once (bound parameters, so SQLAlchemy does not coerce values anew)."""

    def __init__(self, backend, upgrade_lock):
        super().__init__(backend, upgrade_lock)
        self._update_atom = _update_by_uuid(self._tables.atomdetails)
        self._update_flow = _update_by_uuid(self._tables.flowdetails)
        self._saved_atoms = collections.OrderedDict()
        self._saved_lock = threading.Lock()

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
        return self._guarded('save_logbook', super().save_logbook, book)

    def get_flow_details(self, fd_uuid, lazy=False):
        return self._guarded('get_flow_details', super().get_flow_details,
                             fd_uuid, lazy=lazy)

    def unfinished_flow_details(self, logbook_uuid=None):
        """Flow details neither SUCCESS nor REVERTED (of one logbook, or
        all), with their atoms; nothing else is read."""
        flowdetails = self._tables.flowdetails
        query = sa.select(flowdetails.c.uuid).where(sa.or_(
            flowdetails.c.state.is_(None),
            flowdetails.c.state.not_in([states.SUCCESS, states.REVERTED])))
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
        _mask_failures(atom_detail)
        values = atom_detail.to_dict()
        without_progress = _without_progress(values)
        with self._saved_lock:
            if self._saved_atoms.get(atom_detail.uuid) == without_progress:
                return atom_detail  # only the progress changed
        self._guarded('update_atom_details', self._write_atom, atom_detail,
                      fence)
        with self._saved_lock:
            self._saved_atoms[atom_detail.uuid] = without_progress
            self._saved_atoms.move_to_end(atom_detail.uuid)
            if len(self._saved_atoms) > REMEMBERED_ATOMS:
                self._saved_atoms.popitem(last=False)
        return atom_detail

    def _write_atom(self, atom_detail, fence):
        with self._engine.begin() as conn:
            if fence is not None:
                fence.check(conn)
            result = conn.execute(self._update_atom,
                                  _by_uuid(atom_detail.to_dict()))
        if result.rowcount == 0:
            raise tf_exceptions.NotFound(
                "No atom details found with uuid '%s'" % atom_detail.uuid)
        return atom_detail

    def update_flow_details(self, flow_detail, fence=None):
        for atom_detail in flow_detail:
            _mask_failures(atom_detail)
        return self._guarded('update_flow_details',
                             self._write_flow, flow_detail, fence)

    def _write_flow(self, flow_detail, fence):
        atomdetails = self._tables.atomdetails
        with self._engine.begin() as conn:
            if fence is not None:
                fence.check(conn)
            result = conn.execute(self._update_flow,
                                  _by_uuid(flow_detail.to_dict()))
            if result.rowcount == 0:
                raise tf_exceptions.NotFound(
                    "No flow details found with uuid '%s'"
                    % flow_detail.uuid)
            saved = set(conn.scalars(
                sa.select(atomdetails.c.uuid)
                .where(atomdetails.c.parent_uuid == flow_detail.uuid)))
            for atom_detail in flow_detail:
                if atom_detail.uuid not in saved:
                    conn.execute(atomdetails.insert().values(
                        dict(atom_detail.to_dict(),
                             parent_uuid=flow_detail.uuid,
                             atom_type=models.atom_detail_type(atom_detail))))
        return flow_detail


class FencedBackend:
    """The shared backend as one flow's engine sees it: every save checks
    the flow's fence first, in the save's own transaction."""

    def __init__(self, backend, fence):
        self._backend = backend
        self._fence = fence

    def get_connection(self):
        return FencedConnection(self._backend.get_connection(), self._fence)

    def close(self):
        pass  # the shared backend outlives its flows


class FencedConnection:
    def __init__(self, connection, fence):
        self._connection = connection
        self._fence = fence

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def update_atom_details(self, atom_detail):
        return self._connection.update_atom_details(atom_detail, self._fence)

    def update_flow_details(self, flow_detail):
        return self._connection.update_flow_details(flow_detail, self._fence)

    def save_logbook(self, book):
        raise NotImplementedError('a flow saves its details, not logbooks')

    def close(self):
        pass


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
