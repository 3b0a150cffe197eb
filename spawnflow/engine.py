"""Run flows with their state in SQL.

Each instance has a logbook (its uuid is the instance's); each action on
it (create, delete) is a flow detail in that book, saved with the flow
factory that builds it, so any process can load and run it: ``create``
records a flow, ``resume`` runs a recorded one from where it stands (a
new one from its start), ``run`` does both.

Running a flow claims it first: the engine's owner takes a new fencing
token in the flow's ``flow_owners`` row, and every database write made
for the flow checks it (spawnflow.ownership.Fence). Who may claim is
decided before: the instance's owner lock without a job board, the job's
claim with one (spawnflow.conductor).

No flow ends in a state nothing will move: a revert that fails leaves its
flow FAILURE, which resume takes like an interrupted one (the atom whose
revert failed is reverted again), and the instance ERROR with a fault
saying what could not be undone and what it still holds.
"""

from concurrent import futures
import contextlib
import logging
import os
import socket
import threading
import uuid as uuidlib

import taskflow.engines
from taskflow import exceptions as tf_exceptions
from taskflow.persistence import models as tf_models
from taskflow import states
from taskflow import storage

from spawnflow import exception
from spawnflow import flows
from spawnflow.flows import changed
from spawnflow import instance_states
from spawnflow import ownership
from spawnflow.persistence import action_events
from spawnflow.persistence import errors as db_errors
from spawnflow.persistence import taskflow_backend
from spawnflow import secrets

LOG = logging.getLogger(__name__)

#: Flow states a flow detail ends in; any other means it was interrupted,
#: or (FAILURE) a revert failed and must be finished.
FINISHED = (states.SUCCESS, states.REVERTED)


def process_owner(host):
    """This process's owner name: host, machine and pid."""
    return '%s:%s:%d' % (host, socket.gethostname(), os.getpid())


class Engine:
    """Runs spawnflow flows with SQL persistence and one executor shared
    by every flow it runs."""

    def __init__(self, services, owner=None):
        self.services = services
        #: Who this engine's claims name (a process, or a conductor).
        self.owner = owner or process_owner(services.host)
        self.backend = taskflow_backend.SQLBackend(services.db.engine,
                                                   services.db.retry)
        # The standard library's pool, not futurist's: its idle workers
        # wake at shutdown, where futurist's poll for it each second (every
        # command that ran a flow would wait up to a second to exit).
        self.executor = futures.ThreadPoolExecutor(
            max_workers=services.conf.max_concurrent_builds,
            thread_name_prefix='spawnflow-task')
        self.owners = ownership.Owners(
            os.path.join(services.conf.instances_path, 'locks'))
        #: Callables taking a TaskFlow engine and returning a listener,
        #: registered on every flow this engine runs (progress display,
        #: metrics, tests that act at a given task transition).
        self.listener_factories = []
        #: spawnflow.metrics.Metrics counting the flows run, if any.
        self.metrics = None
        self._running = set()
        self._running_lock = threading.Lock()
        self._suspending = False

    def _logbook(self, instance_uuid):
        """The instance's logbook without its flow details (saving it
        with one adds that one), or a new one, not saved yet."""
        try:
            return self.backend.get_connection().get_logbook(instance_uuid,
                                                             lazy=True)
        except tf_exceptions.NotFound:
            return tf_models.LogBook('instance-%s' % instance_uuid,
                                     uuid=instance_uuid)

    def create(self, instance_uuid, action, factory, factory_kwargs,
               posting=None):
        """Record a new flow for ``action`` on the instance (its action,
        its flow detail with the factory, its owner row); returns the
        flow detail, not run yet. ``posting``: the job board posting
        that is to run it."""
        return self._create(instance_uuid, action, factory, factory_kwargs,
                            posting)[0]

    def _create(self, instance_uuid, action, factory, factory_kwargs,
                posting=None):
        """create(), returning the flow detail and the flow made."""
        action_id = self.services.db.action_start(
            instance_uuid, action, 'req-%s' % uuidlib.uuid4())
        flow = factory(**factory_kwargs)
        book = self._logbook(instance_uuid)
        detail = _new_detail(flow, factory, factory_kwargs, {
            'instance_uuid': instance_uuid, 'action': action,
            'action_id': action_id})
        self.services.db.flow_owner_create(detail.uuid, instance_uuid, action,
                                           self.services.host, posting)
        book.add(detail)
        self.backend.get_connection().save_logbook(book)
        return detail, flow

    def run(self, instance_uuid, action, factory, factory_kwargs):
        """Record a new flow for ``action`` on the instance and run it to
        the end, holding the instance's owner lock.

        Returns the flow's final state: SUCCESS; REVERTED when a task
        failed and everything it had done was undone (its tasks recorded
        the fault); FAILURE when a revert failed too (the instance is
        ERROR with a fault saying what it still holds, and resume finishes
        the undo); SUSPENDED when suspend() stopped it. Anything else (a
        storage error) raises.
        """
        with self.owners.hold(instance_uuid):
            detail, flow = self._create(instance_uuid, action, factory,
                                        factory_kwargs)
            return self.resume(detail, flow=flow)

    def _load(self, flow, detail, fence, events):
        """A TaskFlow engine running ``flow`` with its state in ``detail``,
        saved through ``fence`` with its action ``events``."""
        return taskflow.engines.load(
            flow, store={'instance_uuid': detail.meta['instance_uuid']},
            flow_detail=detail,
            backend=self.backend.fenced(fence, events, detail),
            engine='parallel', executor=self.executor)

    def flow_details(self):
        """Every flow detail (one per action on an instance): history."""
        conn = self.backend.get_connection()
        return [detail for book in conn.get_logbooks() for detail in book]

    def unfinished(self, instance_uuid=None):
        """Flow details neither finished nor reverted: what a crash, an
        interruption or a failed revert left, or what runs now (of one
        instance, or all). Reads only those."""
        return self.backend.get_connection().unfinished_flow_details(
            instance_uuid)

    def flow_detail(self, flow_uuid):
        """One flow detail, with its atoms."""
        return self.backend.get_connection().get_flow_details(flow_uuid)

    def claim(self, detail):
        """Take the flow over for this engine's owner: a new fencing
        token, which every later write of a previous owner fails on."""
        token, taken_over = self.services.db.flow_claim(
            detail.uuid, detail.meta['instance_uuid'], detail.meta['action'],
            self.owner, self.services.host)
        return ownership.Fence(detail.uuid, self.owner, token, taken_over)

    def resume(self, detail, on_claim=None, flow=None):
        """Claim a recorded flow and drive it to its end: from its start
        when new, forward where it was running, backward where it was
        reverting (or where a revert failed). A flow whose saved tasks
        are not this code's is reverted instead (see flows.changed).
        Returns its final state (as run() does); raises ClaimLost when
        another owner took it over meanwhile. The caller holds the right
        to claim it (the instance's owner lock, or the job's claim);
        ``on_claim(fence)`` is told the claim before anything runs.
        ``flow``: the flow the detail was just recorded from (by run()),
        which need not be made again."""
        fence = self.claim(detail)
        if on_claim is not None:
            on_claim(fence)
        self._repair_injector(detail, fence)
        self._repair_revert_failures(detail, fence)
        if flow is None:
            try:
                flow = taskflow.engines.flow_from_detail(detail)
            except (ImportError, ValueError, TypeError) as error:
                # Factory gone, no factory saved, or its arguments changed.
                LOG.warning('Cannot rebuild flow %s: %s', detail.name, error)
                return self._revert_changed(detail, fence, [], [])
            changes = _changes(detail, flow)
            if changes is not None:
                return self._revert_changed(detail, fence, *changes)
        resumed = detail.state not in (None, states.PENDING)
        if resumed:
            LOG.info('Resuming %s (%s) of instance %s from state %s',
                     detail.name, detail.meta.get('action'),
                     detail.meta.get('instance_uuid'), detail.state)
        if self.metrics is not None:
            self.metrics.flow_started(detail.meta['action'], resumed)
        return self._run(flow, detail, fence)

    def _revert_changed(self, detail, fence, saved_only, code_only):
        """Replace the flow by the action's current flow, all done, and a
        last task that fails, so that every revert runs."""
        instance_uuid = detail.meta['instance_uuid']
        action = detail.meta['action']
        LOG.warning('Flow %s (%s) of instance %s no longer matches this '
                    'code (saved only: %s; code only: %s); reverting it.',
                    detail.name, action, instance_uuid, saved_only,
                    code_only)
        db = self.services.db.fenced(fence)
        kwargs = {'action': action, 'instance_uuid': instance_uuid,
                  'block_devices': flows.block_device_shape(db,
                                                            instance_uuid),
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
        db.flow_owner_create(replacement.uuid, instance_uuid, action,
                             self.services.host)
        # One transaction: the replacement exists exactly when the old
        # flow is closed.
        book = self._logbook(instance_uuid)
        book.add(replacement)
        detail.state = states.REVERTED
        detail.meta['replaced_by'] = replacement.uuid
        book.add(detail)
        self.backend.get_connection().save_logbook(book)
        return self._run(flow, replacement, self.claim(replacement))

    def _repair_injector(self, detail, fence):
        """TaskFlow saves its store in two steps: the atom detail with no
        state and no results, then both. A kill between them leaves a
        store TaskFlow can neither load nor read, so no task finds its
        arguments. The store is re-injected on resume: start it empty."""
        for atom in detail:
            if atom.name == storage.Storage.injector_name and (
                    atom.state != states.SUCCESS or atom.results is None):
                atom.state = states.SUCCESS
                atom.results = {}
                self.backend.get_connection().update_atom_details(atom,
                                                                  fence)

    def _repair_revert_failures(self, detail, fence):
        """An atom whose revert failed is REVERT_FAILURE, which TaskFlow
        never moves again. Its revert is idempotent like every other:
        make it REVERTING, as if its revert had been interrupted, so that
        resuming reverts it again and then everything before it."""
        for atom in detail:
            if atom.state == states.REVERT_FAILURE:
                atom.state = states.REVERTING
                atom.revert_failure = None
                self.backend.get_connection().update_atom_details(atom,
                                                                  fence)

    @property
    def suspending(self):
        """Whether suspend() was called."""
        return self._suspending

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

    def _run(self, flow, detail, fence):
        services = self.services.fenced(fence)
        action_id = detail.meta['action_id']
        events = action_events.ActionEvents(action_id, self.owner)
        events.restarting(services.db, detail)
        engine = self._load(flow, detail, fence, events)
        engine.storage.inject({'services': services}, transient=True)
        message = None
        listeners = [factory(engine) for factory in self.listener_factories]
        with self._running_lock:
            if self._suspending:
                engine.suspend()
            self._running.add(engine)
        # Told the claim is lost (by the job board's keep-alive), stop at
        # the next task boundary; the fence refuses the saves meanwhile.
        fence.on_lost(engine.suspend)
        try:
            with contextlib.ExitStack() as stack:
                for listener in listeners:
                    stack.enter_context(listener)
                engine.run()
        except Exception as error:
            if fence.lost:
                raise exception.ClaimLost(detail.uuid, self.owner) from error
            message = secrets.mask_text('Error: %s' % error)
            state = engine.storage.get_flow_state()
            if state == states.FAILURE and \
                    engine.storage.get_revert_failures():
                _record_incomplete_undo(services, engine, flow)
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
            if not fence.lost:
                if engine.storage.get_flow_state() == states.SUSPENDED:
                    message = 'Interrupted; left for `spawnflow resume`'
                try:
                    services.db.action_finish(action_id, message)
                except exception.ClaimLost:
                    pass
        if fence.lost:
            raise exception.ClaimLost(detail.uuid, self.owner)
        state = engine.storage.get_flow_state()
        if self.metrics is not None:
            self.metrics.flow_ended(detail.meta['action'], state)
        return state

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
            'vm_state': instance_states.ERROR, 'task_state': None})
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
