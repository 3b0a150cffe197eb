"""An action's events, written with the atom saves they describe.

Each run of a task is one instance action event, as Nova records them:
it opens when the task's RUNNING state is saved and closes (Success,
Error) with the save of its end; a revert is its own event,
``revert-<task>`` (Reverted, Error). Each event records the owner that
ran it.

The events are written in the transactions of the flow's atom saves
(taskflow_backend.FencedBackend), so they say what the saved flow says
and cost no transaction of their own: a task whose end a crash lost is
still open, as its atom is still RUNNING, and the resumer's run of it is
a new event. The times are those of the saves, not of their writes.
"""

import sqlalchemy as sa
from taskflow.persistence import models as tf_models
from taskflow import states
from taskflow import storage

from spawnflow.persistence import models
from spawnflow import secrets

_EVENTS = models.instance_actions_events
_INSERT = _EVENTS.insert()
_CLOSE = (_EVENTS.update().where(_EVENTS.c.id == sa.bindparam('row_id'))
          .values(finish_time=sa.bindparam('at'),
                  result=sa.bindparam('outcome'),
                  details=sa.bindparam('text')))
#: An owner's newest open row of an event.
_OPEN = (sa.select(_EVENTS.c.id)
         .where(_EVENTS.c.action_id == sa.bindparam('action'),
                _EVENTS.c.event == sa.bindparam('name'),
                _EVENTS.c.host == sa.bindparam('owner'),
                _EVENTS.c.finish_time.is_(None))
         .order_by(_EVENTS.c.id.desc()).limit(1))


def _is_task(atom_detail):
    return (isinstance(atom_detail, tf_models.TaskDetail)
            and atom_detail.name != storage.Storage.injector_name)


class _Start:
    def __init__(self, events, name, at):
        self.events, self.name, self.at = events, name, at
        #: Its row, once inserted.
        self.row_id = None

    def write(self, conn):
        self.row_id = conn.execute(_INSERT, {
            'action_id': self.events.action_id, 'event': self.name,
            'start_time': self.at, 'host': self.events.owner,
        }).inserted_primary_key[0]


class _Finish:
    def __init__(self, events, name, outcome, text, at):
        self.events, self.name = events, name
        self.outcome, self.text, self.at = outcome, text, at
        self.start = events.opened.get(name)

    def write(self, conn):
        """Close the run's row: the one this owner opened (another
        owner's stays open: it never finished), or a new one when it
        never started."""
        events = self.events
        row_id = self.start.row_id if self.start is not None else None
        if row_id is None:
            row_id = conn.scalar(_OPEN, {'action': events.action_id,
                                         'name': self.name,
                                         'owner': events.owner})
        if row_id is None:
            conn.execute(_INSERT, {
                'action_id': events.action_id, 'event': self.name,
                'start_time': self.at, 'finish_time': self.at,
                'result': self.outcome, 'details': self.text,
                'host': events.owner})
        else:
            conn.execute(_CLOSE, {'row_id': row_id, 'at': self.at,
                                  'outcome': self.outcome,
                                  'text': self.text})


class ActionEvents:
    """The events of one run of a flow by one owner."""

    def __init__(self, action_id, owner):
        self.action_id = action_id
        self.owner = owner
        #: Event name -> the _Start of its run by this owner.
        self.opened = {}
        #: Atom uuid -> the state of its last save seen.
        self._states = {}

    def restarting(self, db, detail):
        """Record the start of the tasks a resume runs again: those saved
        RUNNING or REVERTING (a flow being reverted reverts its RUNNING
        tasks instead), through ``db`` (fenced). TaskFlow goes on with
        them without saving that state again, or saves it with their
        progress, which is then no new run. Their first owner's events
        stay open: it never finished them."""
        reverting = detail.state in (states.REVERTING, states.FAILURE)
        for atom in detail:
            if not _is_task(atom):
                continue
            self._states[atom.uuid] = atom.state
            if atom.state == states.RUNNING and not reverting:
                event = atom.name
            elif atom.state == states.REVERTING:
                event = 'revert-' + atom.name
            else:
                continue
            db.event_start(self.action_id, event, self.owner)

    def changes(self, atom_detail):
        """What a save of ``atom_detail`` does to the events (nothing
        unless it changes the task's state), to be written with it."""
        if not _is_task(atom_detail):
            return []
        state = atom_detail.state
        if self._states.get(atom_detail.uuid) == state:
            return []
        self._states[atom_detail.uuid] = state
        at = models.utcnow()
        name = atom_detail.name
        if state in (states.RUNNING, states.REVERTING):
            event = name if state == states.RUNNING else 'revert-' + name
            start = self.opened[event] = _Start(self, event, at)
            return [start]
        if state == states.SUCCESS:
            return [_Finish(self, name, 'Success', None, at)]
        if state == states.FAILURE:
            failure = atom_detail.failure
            return [_Finish(self, name, 'Error', failure and secrets.mask_text(
                failure.exception_str), at)]
        if state == states.REVERTED:
            return [_Finish(self, 'revert-' + name, 'Reverted', None, at)]
        if state == states.REVERT_FAILURE:
            return [_Finish(self, 'revert-' + name, 'Error', None, at)]
        return []  # PENDING again (retried), IGNORE: no run
