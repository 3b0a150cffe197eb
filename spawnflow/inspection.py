"""What a flow is made of and where it stands: the one view of a build
that ``spawnflow flow show``, ``spawnflow flow graph`` and the dashboard
read.

A view puts together three things the database holds:

- the flow's shape, rebuilt from the factory saved with it (its
  subflows, which run in sequence and which in parallel);
- each atom's saved state (TaskFlow's atom details: state, intention,
  result, failure, revert result);
- the action events, which say when each task's executions and reverts
  started and finished, and which owner ran them.

A view of a request shape (``plan``) has the same structure, every atom
pending. Texts taken from the database (results, failures) are shortened
and masked of secrets. Reading goes through a read-only database engine:
nothing here can change state.
"""

import dataclasses
import datetime
import re
import reprlib

from taskflow import exceptions as tf_exceptions
from taskflow import flow as tf_flow
from taskflow import states
from taskflow import storage

from spawnflow import exception
from spawnflow import flows
from spawnflow.flows import changed
from spawnflow.persistence import api as db_api
from spawnflow.persistence import taskflow_backend
from spawnflow import secrets

ACTIONS = tuple(flows.FACTORIES)
#: What a caller may ask flows() for: one action, or all.
ACTION_CHOICES = ACTIONS + ('all',)
#: Characters of a result or a cause a view keeps.
SHORT = 72
#: The factories a saved flow may name, by the name TaskFlow saves: a
#: view calls no other code a database row names.
KNOWN_FACTORIES = {'%s.%s' % (f.__module__, f.__name__): f for f in (
    *flows.FACTORIES.values(), changed.get_revert_flow)}

_CONTROL = re.compile(r'[\x00-\x08\x0b-\x1f\x7f]')
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = SHORT
_REPR.maxdict = _REPR.maxlist = 4


@dataclasses.dataclass
class AtomView:
    """One task of a flow and what became of it."""

    name: str
    state: str = states.PENDING
    intention: str = states.EXECUTE
    #: Its last execution (its earlier ones were interrupted).
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    #: Executions recorded; more than one when a resume ran it again.
    runs: int = 0
    #: The owner (process or conductor) of the last execution.
    owner: str | None = None
    result: str = ''
    #: Why it failed, when it did.
    cause: str | None = None
    #: Its place (from 1) among the reverts of the flow, when reverted.
    revert_order: int | None = None
    #: Reverts recorded; more than one when a resume reverted it again.
    revert_runs: int = 0
    #: Its last revert.
    revert_started_at: datetime.datetime | None = None
    revert_finished_at: datetime.datetime | None = None
    #: "Reverted", or "Error: <why>", when its revert ended.
    revert_result: str | None = None

    @property
    def failed(self):
        return self.cause is not None

    @property
    def duration(self):
        return _seconds(self.started_at, self.finished_at)

    @property
    def revert_duration(self):
        return _seconds(self.revert_started_at, self.revert_finished_at)


@dataclasses.dataclass
class Group:
    """A subflow: its children (atoms and groups) and which child runs
    after which (``links`` between indexes of ``children``; a group
    without links runs its children in parallel)."""

    name: str
    children: list
    links: list

    @property
    def parallel(self):
        return len(self.children) > 1 and not self.links

    def atoms(self):
        """Every atom in it, in the order the flow lists them."""
        for child in self.children:
            if isinstance(child, Group):
                yield from child.atoms()
            else:
                yield child


@dataclasses.dataclass
class FlowView:
    """One action's flow on an instance."""

    action: str
    name: str
    root: Group
    #: The flow's saved state (None: a plan, never saved).
    state: str | None = None
    #: Who holds (or last held) the flow, and when it claimed it.
    owner: str | None = None
    claimed_at: datetime.datetime | None = None
    #: How the action ended, when it did not succeed.
    message: str | None = None

    @property
    def atoms(self):
        return list(self.root.atoms())

    def revert_path(self):
        """The reverted (or reverting) atoms in the order their reverts
        started."""
        return sorted((atom for atom in self.atoms
                       if atom.revert_order is not None),
                      key=lambda atom: atom.revert_order)


def plan(action, block_devices):
    """The view of ``action``'s flow for a request shape (each mapping's
    (index, source, destination)), nothing built: every atom pending."""
    flow = flows.FACTORIES[action]('<instance>', block_devices)
    return FlowView(action=action, name=flow.name, root=_shape(flow))


def _shape(flow):
    """The Group of a TaskFlow pattern, its subflows nested."""
    children, index = [], {}
    for item, _meta in flow.iter_nodes():
        index[item] = len(children)
        children.append(_shape(item) if isinstance(item, tf_flow.Flow)
                        else AtomView(item.name))
    links = [(index[a], index[b]) for a, b, _meta in flow.iter_links()]
    return Group(flow.name, children, links)


class Reader:
    """Reads flow views and instances through a read-only engine of its
    own (writes are refused by the database itself)."""

    def __init__(self, conf):
        self.db = db_api.Database.from_conf(conf, read_only=True)
        self._backend = taskflow_backend.SQLBackend(self.db.engine,
                                                    self.db.retry)

    def close(self):
        self.db.engine.dispose()

    def instances(self):
        """The instances not deleted, oldest first."""
        return self.db.instance_list()

    def instance(self, uuid):
        """An instance, deleted or not (a deleted build is inspected
        too); raises InstanceNotFound."""
        return self.db.instance_get(uuid, read_deleted=True)

    def flows(self, instance_uuid, action='create'):
        """The views of the instance's flows for ``action`` (or 'all'),
        oldest first; none for an instance without a saved flow (or
        unknown: ask instance() for that). A flow replaced because the
        code changed (spawnflow.flows.changed) is shown by its
        replacement, and only with 'all' itself."""
        if action not in ACTION_CHOICES:
            raise exception.InvalidRequest(
                'The action must be one of %s, not %r.'
                % (', '.join(ACTION_CHOICES), action))
        try:
            book = self._backend.get_connection().get_logbook(instance_uuid)
        except tf_exceptions.NotFound:
            return []  # crashed before its flow was saved
        actions = {item['id']: item
                   for item in self.db.action_list(instance_uuid)}
        views = []
        for detail in sorted(book, key=lambda d: d.meta.get('action_id', 0)):
            meta = detail.meta
            if action != 'all' and (meta.get('action') != action
                                    or 'replaced_by' in meta):
                continue
            owner = self.db.flow_owner_get(detail.uuid) or {}
            views.append(_view(detail, actions.get(meta.get('action_id')),
                               owner))
        return views


def _view(detail, action, owner):
    """The view of one saved flow detail, its action (with its events)
    and its owner row."""
    root = _saved_shape(detail)
    known = {atom.name: atom for atom in root.atoms()}
    for saved in detail:
        if saved.name == storage.Storage.injector_name:
            continue
        atom = known.get(saved.name)
        if atom is None:  # saved by code that had other tasks
            atom = known[saved.name] = AtomView(saved.name)
            root.children.append(atom)
        _fill_saved(atom, saved)
    action = action or {}
    _fill_events(known, action.get('events', []))
    return FlowView(
        action=detail.meta.get('action'), name=detail.name, root=root,
        state=detail.state, owner=owner.get('owner'),
        claimed_at=owner.get('claimed_at'), message=action.get('message'))


def _saved_shape(detail):
    """The Group of the flow the detail's saved factory builds; an empty
    one (its atoms are added as saved) when that factory is not one of
    KNOWN_FACTORIES or fails with the saved arguments."""
    saved = detail.meta.get('factory') or {}
    factory = KNOWN_FACTORIES.get(saved.get('name'))
    if factory is not None:
        try:
            return _shape(factory(*saved.get('args', ()),
                                  **saved.get('kwargs', {})))
        except Exception:  # saved by code whose factory took other args
            pass
    return Group(detail.name, [], [])


def _fill_saved(atom, saved):
    atom.state = saved.state or states.PENDING
    atom.intention = saved.intention or states.EXECUTE
    if saved.results is not None:
        atom.result = short(saved.results)
    if saved.failure is not None:
        atom.cause = short(saved.failure.exception_str)
    if saved.revert_failure is not None:
        atom.revert_result = 'Error: %s' % short(
            saved.revert_failure.exception_str)


def _fill_events(atoms, events):
    """Times (of the last run), runs and owners from the action events
    (in the order they were recorded), and the order of the reverts (by
    their first run)."""
    reverts = {}
    for event in events:
        name = event['event']
        reverting = name.startswith('revert-') and name[7:] in atoms
        atom = atoms.get(name[7:] if reverting else name)
        if atom is None:
            continue
        if reverting:
            reverts.setdefault(atom.name, atom)
            atom.revert_runs += 1
            atom.revert_started_at = event['start_time']
            atom.revert_finished_at = event['finish_time']
            if event['result'] == 'Reverted':
                atom.revert_result = 'Reverted'
            elif event['result'] and atom.revert_result is None:
                atom.revert_result = ('Error: %s' % short(event['details'])
                                      if event['details'] else 'Error')
        else:
            atom.runs += 1
            atom.started_at = event['start_time']
            atom.finished_at = event['finish_time']
            atom.owner = event['host']
    for order, atom in enumerate(reverts.values(), start=1):
        atom.revert_order = order


def short(value):
    """``value`` in at most about SHORT characters of one line, masked of
    secrets (a dict's secret keys too), without control characters
    (which no XML, so no SVG, may hold)."""
    if isinstance(value, str):
        lines = secrets.mask_text(value).strip().splitlines() or ['']
        text = lines[0] + (' ...' if len(lines) > 1 else '')
    elif isinstance(value, (dict, list, tuple)):
        text = _REPR.repr(secrets.mask_dict(value))
    else:
        text = secrets.mask_text(_REPR.repr(value))
    text = _CONTROL.sub('\ufffd', text)
    return text if len(text) <= SHORT else text[:SHORT - 3] + '...'


def _seconds(start, end):
    return (end - start).total_seconds() if start and end else None


def duration_text(seconds):
    """A duration for people: 0.02 s, 34.1 s, 2 min 5 s ('' for None:
    not finished)."""
    if seconds is None:
        return ''
    if seconds < 10:
        return '%.2f s' % seconds
    if seconds < 120:
        return '%.1f s' % seconds
    return '%d min %d s' % divmod(round(seconds), 60)


def time_text(value, sep='T'):
    """A recorded time to the second, in UTC as recorded ('' for
    None)."""
    return value.isoformat(sep=sep, timespec='seconds') if value else ''


def age_text(since, now):
    """How long ago ``since`` was: 5 s, 3 min, 2 h, 4 d."""
    seconds = max(0, (now - since).total_seconds())
    for unit, size in (('d', 86400), ('h', 3600), ('min', 60)):
        if seconds >= size:
            return '%d %s' % (seconds // size, unit)
    return '%d s' % seconds
