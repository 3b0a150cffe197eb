"""Run flows in-process with their state in SQL.

Each instance has a logbook (its uuid is the instance's); each action on
it (create, delete) is a flow detail in that book, started from a flow
factory saved with the detail, so another process can load and resume it.

Whoever runs a flow holds the instance's owner lock (spawnflow.ownership)
for as long as it does; resume takes only flows nobody holds.

No flow ends in a state nothing will move: a revert that fails leaves its
flow FAILURE, which resume takes like an interrupted one (the atom whose
revert failed is reverted again), and the instance ERROR with a fault
saying what could not be undone and what it still holds.
"""

import contextlib
import logging
import os
import threading
import uuid as uuidlib

import futurist
import taskflow.engines
from taskflow import exceptions as tf_exceptions
from taskflow.listeners import base as listener_base
from taskflow.persistence import models as tf_models
from taskflow import states
from taskflow import storage

from spawnflow import exception
from spawnflow import flows
from spawnflow.flows import changed
from spawnflow import ownership
from spawnflow.persistence import errors as db_errors
from spawnflow.persistence import taskflow_backend
from spawnflow import secrets
from spawnflow.tasks import lifecycle

LOG = logging.getLogger(__name__)

#: Flow states a flow detail ends in; any other means it was interrupted,
#: or (FAILURE) a revert failed and must be finished.
FINISHED = (states.SUCCESS, states.REVERTED)
#: What resume() reports for a flow a live process runs (left alone).
IN_PROGRESS = 'IN PROGRESS'


class ActionEventListener(listener_base.Listener):
    """Records one instance action event per task (start, finish, result).

    Reverts are recorded as their own events, named ``revert-<task>``.
    """

    def __init__(self, engine, db, action_id):
        super().__init__(engine, task_listen_for=(
            states.RUNNING, states.SUCCESS, states.FAILURE,
            states.REVERTING, states.REVERTED, states.REVERT_FAILURE),
            flow_listen_for=())
        self._db = db
        self._action_id = action_id

    def _task_receiver(self, state, details):
        name = details['task_name']
        if state == states.RUNNING:
            self._db.event_start(self._action_id, name)
        elif state == states.SUCCESS:
            self._db.event_finish(self._action_id, name, 'Success')
        elif state == states.FAILURE:
            failure = details['result']
            self._db.event_finish(self._action_id, name, 'Error',
                                  secrets.mask_text(failure.exception_str))
        elif state == states.REVERTING:
            self._db.event_start(self._action_id, 'revert-' + name)
        else:
            result = 'Reverted' if state == states.REVERTED else 'Error'
            self._db.event_finish(self._action_id, 'revert-' + name, result)


class Engine:
    """Runs spawnflow flows with SQL persistence and a shared executor."""

    def __init__(self, services):
        self.services = services
        self.backend = taskflow_backend.SQLBackend(services.db.engine,
                                                   services.db.retry)
        self.executor = futurist.ThreadPoolExecutor(
            max_workers=services.conf.max_concurrent_builds)
        self.owners = ownership.Owners(
            os.path.join(services.conf.instances_path, 'locks'))
        #: Callables taking a TaskFlow engine and returning a listener,
        #: registered on every flow this engine runs (progress display,
        #: metrics, tests that act at a given task transition).
        self.listener_factories = []
        self._running = set()
        self._running_lock = threading.Lock()
        self._suspending = False

    def _logbook(self, instance_uuid):
        conn = self.backend.get_connection()
        try:
            return conn.get_logbook(instance_uuid)
        except tf_exceptions.NotFound:
            book = tf_models.LogBook('instance-%s' % instance_uuid,
                                     uuid=instance_uuid)
            conn.save_logbook(book)
            return book

    def run(self, instance_uuid, action, factory, factory_kwargs):
        """Run a new flow for ``action`` on the instance, to the end.

        Returns the flow's final state: SUCCESS; REVERTED when a task
        failed and everything it had done was undone (its tasks recorded
        the fault); FAILURE when a revert failed too (the instance is
        ERROR with a fault saying what it still holds, and resume finishes
        the undo); SUSPENDED when suspend() stopped it. Anything else (a
        storage error) raises.
        """
        with self.owners.hold(instance_uuid):
            return self._run_new(instance_uuid, action, factory,
                                 factory_kwargs)

    def _run_new(self, instance_uuid, action, factory, factory_kwargs):
        action_id = self.services.db.action_start(
            instance_uuid, action, 'req-%s' % uuidlib.uuid4())
        flow = factory(**factory_kwargs)
        book = self._logbook(instance_uuid)
        detail = _new_detail(flow, factory, factory_kwargs, {
            'instance_uuid': instance_uuid, 'action': action,
            'action_id': action_id})
        book.add(detail)
        self.backend.get_connection().save_logbook(book)
        return self._run(flow, detail, action_id)

    def _load(self, flow, detail):
        """A TaskFlow engine running ``flow`` with its state in ``detail``."""
        return taskflow.engines.load(
            flow, store={'instance_uuid': detail.meta['instance_uuid']},
            flow_detail=detail, backend=self.backend, engine='parallel',
            executor=self.executor)

    def flow_details(self):
        """Every flow detail (one per action on an instance)."""
        conn = self.backend.get_connection()
        return [detail for book in conn.get_logbooks() for detail in book]

    def unfinished(self, instance_uuid=None):
        """Flow details neither finished nor reverted: what a crash, an
        interruption or a failed revert left (of one instance, or all)."""
        if instance_uuid is None:
            details = self.flow_details()
        else:
            try:
                details = list(self.backend.get_connection().get_logbook(
                    instance_uuid))
            except tf_exceptions.NotFound:
                details = []
        return [d for d in details if d.state not in FINISHED]

    def resume_all(self):
        """Finish every unfinished flow no live process runs; return
        [(instance uuid, action, final state or IN_PROGRESS)]."""
        finished = []
        for detail in self.unfinished():
            if self._suspending:
                break
            uuid = detail.meta['instance_uuid']
            try:
                with self.owners.hold(uuid):
                    # Read again under the lock: its owner may have
                    # finished it meanwhile.
                    current = [d for d in self.unfinished(uuid)
                               if d.uuid == detail.uuid]
                    state = self.resume(current[0]) if current else None
            except exception.InstanceBusy:
                state = IN_PROGRESS
            if state is not None:
                finished.append((uuid, detail.meta['action'], state))
        return finished

    def resume(self, detail):
        """Drive an unfinished flow to its end: forward where it was
        running, backward where it was reverting (or where a revert
        failed). A flow whose saved tasks are not this code's is reverted
        instead (see flows.changed). Returns its final state (as run()
        does). The caller holds the instance's owner lock."""
        self._repair_injector(detail)
        self._repair_revert_failures(detail)
        try:
            flow = taskflow.engines.flow_from_detail(detail)
        except (ImportError, ValueError, TypeError) as error:
            # Factory gone, no factory saved, or its arguments changed.
            LOG.warning('Cannot rebuild flow %s: %s', detail.name, error)
            return self._revert_changed(detail, [], [])
        changes = _changes(detail, flow)
        if changes is not None:
            return self._revert_changed(detail, *changes)
        LOG.info('Resuming %s (%s) of instance %s from state %s',
                 detail.name, detail.meta.get('action'),
                 detail.meta.get('instance_uuid'), detail.state)
        return self._run(flow, detail, detail.meta['action_id'])

    def _revert_changed(self, detail, saved_only, code_only):
        """Replace the flow by the action's current flow, all done, and a
        last task that fails, so that every revert runs."""
        instance_uuid = detail.meta['instance_uuid']
        action = detail.meta['action']
        LOG.warning('Flow %s (%s) of instance %s no longer matches this '
                    'code (saved only: %s; code only: %s); reverting it.',
                    detail.name, action, instance_uuid, saved_only,
                    code_only)
        kwargs = {'action': action, 'instance_uuid': instance_uuid,
                  'block_devices': flows.block_device_shape(
                      self.services.db, instance_uuid),
                  'saved_only': saved_only, 'code_only': code_only}
        flow = changed.get_revert_flow(**kwargs)
        replacement = _new_detail(
            flow, changed.get_revert_flow, kwargs, {
                'instance_uuid': instance_uuid, 'action': action,
                'action_id': detail.meta['action_id'],
                'replaces': detail.uuid})
        # Every atom is saved with it (so a crash before it runs leaves a
        # detail that matches this code): all done, but the last.
        for name in changed.atom_names(flow):
            atom = tf_models.TaskDetail(name, str(uuidlib.uuid4()))
            atom.state = (states.PENDING if name == changed.RefuseChangedFlow
                          .NAME else states.SUCCESS)
            replacement.add(atom)
        # One transaction: the replacement exists exactly when the old
        # flow is closed.
        book = self._logbook(instance_uuid)
        book.add(replacement)
        old = book.find(detail.uuid)
        old.state = states.REVERTED
        old.meta['replaced_by'] = replacement.uuid
        self.backend.get_connection().save_logbook(book)
        return self._run(flow, replacement,
                         detail.meta['action_id'])

    def _repair_injector(self, detail):
        """TaskFlow saves its store in two steps: the atom detail with no
        state and no results, then both. A kill between them leaves a
        store TaskFlow can neither load nor read, so no task finds its
        arguments. The store is re-injected on resume: start it empty."""
        for atom in detail:
            if atom.name == storage.Storage.injector_name and (
                    atom.state != states.SUCCESS or atom.results is None):
                atom.state = states.SUCCESS
                atom.results = {}
                self.backend.get_connection().update_atom_details(atom)

    def _repair_revert_failures(self, detail):
        """An atom whose revert failed is REVERT_FAILURE, which TaskFlow
        never moves again. Its revert is idempotent like every other:
        make it REVERTING, as if its revert had been interrupted, so that
        resuming reverts it again and then everything before it."""
        for atom in detail:
            if atom.state == states.REVERT_FAILURE:
                atom.state = states.REVERTING
                atom.revert_failure = None
                self.backend.get_connection().update_atom_details(atom)

    def running(self):
        """Whether a flow is running in this engine (without taking a
        lock: signal handlers ask)."""
        return bool(self._running)

    def suspend(self):
        """Stop every flow this engine runs at its next task boundary (the
        running tasks finish), and every flow it starts from now on; they
        end SUSPENDED, for resume. (For a process that is stopping.)"""
        with self._running_lock:
            self._suspending = True
            for engine in self._running:
                engine.suspend()

    def _run(self, flow, detail, action_id):
        engine = self._load(flow, detail)
        engine.storage.inject({'services': self.services}, transient=True)
        message = None
        listeners = [ActionEventListener(engine, self.services.db, action_id)]
        listeners += [factory(engine) for factory in self.listener_factories]
        with self._running_lock:
            if self._suspending:
                engine.suspend()
            self._running.add(engine)
        try:
            with contextlib.ExitStack() as stack:
                for listener in listeners:
                    stack.enter_context(listener)
                engine.run()
        except Exception as error:
            message = secrets.mask_text('Error: %s' % error)
            state = engine.storage.get_flow_state()
            if state == states.FAILURE and \
                    engine.storage.get_revert_failures():
                _record_incomplete_undo(self.services, engine, flow)
            elif state != states.REVERTED:
                translated = db_errors.translate(
                    error, self.services.db.engine.url)
                if translated is not None:
                    raise translated from error
                raise
            LOG.info('Flow %s ended %s: %s', engine.storage.flow_name,
                     state, message)
        finally:
            with self._running_lock:
                self._running.discard(engine)
            if engine.storage.get_flow_state() == states.SUSPENDED:
                message = 'Interrupted; left for `spawnflow resume`'
            self.services.db.action_finish(action_id, message)
        return engine.storage.get_flow_state()

    def close(self):
        self.executor.shutdown(wait=True)


def _record_incomplete_undo(services, engine, flow):
    """A revert failed: the instance is ERROR with a fault naming what
    could not be undone, why, and what the instance still holds, until
    resume (or a retried delete) finishes the undo."""
    store = engine.storage
    instance_uuid = store.fetch('instance_uuid')
    revert_failures = store.get_revert_failures()
    # In the order they are to be undone.
    names = list(changed.atom_names(flow))[::-1]
    atom_states = store.get_atoms_states(names)
    not_undone = [name for name in names
                  if atom_states[name][0] in (states.SUCCESS, states.FAILURE,
                                              states.REVERT_FAILURE)]
    try:
        instance = services.db.instance_update(instance_uuid, {
            'vm_state': lifecycle.ERROR, 'task_state': None})
    except exception.InstanceNotFound:
        return
    held = _held_resources(services, instance)
    name, failure = next(iter(revert_failures.items()))
    message = ('Undo incomplete (`spawnflow resume` or `spawnflow server '
               'delete` finishes it): not undone: %s%s; the revert of %s '
               'failed: %s' % (', '.join(not_undone),
                               '; held: %s' % ', '.join(held) if held
                               else '', name, failure.exception_str))
    causes = ['%s failed: %s' % (atom, atom_failure.exception_str)
              for atom, atom_failure in store.get_execute_failures().items()]
    details = '\n'.join(causes + [message] + [
        ''.join(f.traceback_str or '') for f in revert_failures.values()])
    message = secrets.mask_text(message)
    services.db.fault_create(instance_uuid, 500, message,
                             secrets.mask_text(details), services.host)
    LOG.info('Instance %s: %s', instance_uuid, message)


def _held_resources(services, instance):
    """What the database says the instance holds: its claim, volumes and
    attachments."""
    held = ['a claim on host %s' % instance['host']] if instance['host'] \
        else []
    for bdm in services.db.bdm_list(instance['uuid']):
        if bdm['attachment_id']:
            held.append('attachment %s' % bdm['attachment_id'])
        if bdm['volume_id'] and bdm['source_type'] != 'volume':
            held.append('volume %s' % bdm['volume_id'])
    return held


def _changes(detail, flow):
    """None when the saved tasks are those of ``flow`` (this code's flow
    for the detail); else (saved tasks this code lacks, this code's tasks
    the saved flow lacks)."""
    saved = {atom.name for atom in detail} - {storage.Storage.injector_name}
    code = set(changed.atom_names(flow))
    if not saved or saved == code:
        # (None saved: killed before TaskFlow saved them; nothing ran.)
        return None
    return sorted(saved - code), sorted(code - saved)


def _new_detail(flow, factory, factory_kwargs, meta):
    """A flow detail holding everything a resume needs: the factory that
    rebuilds the flow, and the instance, action and action id in ``meta``.
    Callers save it in one transaction, so a crash never leaves a detail
    that cannot be resumed."""
    detail = tf_models.FlowDetail(flow.name, uuid=str(uuidlib.uuid4()))
    taskflow.engines.save_factory_details(detail, factory, (), factory_kwargs)
    detail.meta.update(meta)
    return detail
