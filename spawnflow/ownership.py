"""One live owner per flow.

Two pieces:

- Who may run a flow. Without a job board, whatever runs a flow of an
  instance (a build, a delete, a resume) holds the instance's owner lock
  while it runs it: an OS file lock (with a semaphore for the threads of
  one process), which dies with its process. So a flow whose lock is free
  has no live owner (its process crashed or stopped) and may be resumed;
  one whose lock is held is left to its owner. The lock files live under
  ``<instances_path>/locks``, which every process on this host shares.
  With a job board, the board's claim on the flow's job says it
  (spawnflow.conductor).
- A ``Fence``: the fencing token of the current owner, in the flow's
  ``flow_owners`` row. Whoever starts running a flow takes a new token;
  every database write made for the flow (TaskFlow's saves, the tasks'
  own, the action events) first reads the row in the same transaction
  (locking it) and refuses with ClaimLost once the token is another's.
  So an owner that lost its claim without knowing (paused past its
  claim's expiry, cut off from the job board) lands nothing after the
  takeover.
"""

import contextlib
import threading

from oslo_concurrency import lockutils
import sqlalchemy as sa
import tenacity

from spawnflow import exception
from spawnflow.persistence import models


#: A flow's fencing token, its row locked (built once: a statement built
#: for every write would be compiled, or looked up, for every write).
_TOKEN = (sa.select(models.flow_owners.c.token)
          .where(models.flow_owners.c.flow_uuid == sa.bindparam('flow_uuid'))
          .with_for_update())
#: Whether a flow is still its owner's, its row locked, as a condition of
#: a write's own statement (Fence.held).
HELD = sa.exists(
    sa.select(1)
    .where(models.flow_owners.c.flow_uuid == sa.bindparam('fence_flow'),
           models.flow_owners.c.token == sa.bindparam('fence_token'))
    .with_for_update())


class Fence:
    """An owner's claim on one flow, as the database holds it."""

    def __init__(self, flow_uuid, owner, token, taken_over=False):
        self.flow_uuid = flow_uuid
        self.owner = owner
        self.token = token
        #: Whether another owner had run the flow before this claim.
        self.taken_over = taken_over
        self._lost = threading.Event()
        self._on_lost = []

    @property
    def lost(self):
        return self._lost.is_set()

    def on_lost(self, callback):
        """Call ``callback()`` once the claim is known to be lost."""
        self._on_lost.append(callback)

    def lose(self):
        """The claim is gone (the job board says so, or a write found
        another's token): refuse every write from now on."""
        if self._lost.is_set():
            return
        self._lost.set()
        for callback in self._on_lost:
            callback()

    def check(self, connection):
        """Raise ClaimLost unless the flow is still this owner's; run in
        the transaction of a write, on its connection, before it. The
        row is locked (FOR UPDATE; SQLite's BEGIN IMMEDIATE holds the
        whole database), so a takeover waits for the write to commit."""
        if not self._lost.is_set():
            token = connection.scalar(_TOKEN, {'flow_uuid': self.flow_uuid})
            if token == self.token:
                return
            self.lose()
        raise exception.ClaimLost(self.flow_uuid, self.owner)

    def held(self):
        """The parameters of HELD for this claim, so that the first write
        of a transaction checks the fence itself, one round trip fewer
        than check() before it; raise ClaimLost once the claim is known
        lost. A write whose statement so matched fewer rows than it
        should calls check() to learn why."""
        if self._lost.is_set():
            raise exception.ClaimLost(self.flow_uuid, self.owner)
        return {'fence_flow': self.flow_uuid, 'fence_token': self.token}


class Owners:
    """Instance owner locks (file locks) of this host."""

    def __init__(self, lock_path):
        self._lock_path = lock_path
        self._local = threading.local()

    def _held(self):
        if not hasattr(self._local, 'uuids'):
            self._local.uuids = set()
        return self._local.uuids

    def holds(self, instance_uuid):
        """Whether this thread holds the instance's lock."""
        return instance_uuid in self._held()

    @contextlib.contextmanager
    def hold(self, instance_uuid, wait=0):
        """Hold the instance's lock, waiting up to ``wait`` seconds for its
        owner to let it go; raise InstanceBusy if it does not. Holding it
        again in the same thread is a no-op."""
        held = self._held()
        if instance_uuid in held:
            yield
            return
        with contextlib.ExitStack() as stack:
            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_exception_type(
                    lockutils.AcquireLockFailedException),
                stop=tenacity.stop_after_delay(wait),
                wait=tenacity.wait_exponential(multiplier=0.05, max=1),
                reraise=True)
            try:
                for attempt in retrying:
                    with attempt:
                        stack.enter_context(lockutils.lock(
                            'instance-' + instance_uuid,
                            lock_file_prefix='spawnflow-', external=True,
                            lock_path=self._lock_path, do_log=False,
                            blocking=False))
            except lockutils.AcquireLockFailedException:
                raise exception.InstanceBusy(instance_uuid, wait)
            held.add(instance_uuid)
            try:
                yield
            finally:
                held.discard(instance_uuid)

    def is_owned(self, instance_uuid):
        """Whether a live process (this one included) runs a flow of the
        instance."""
        if self.holds(instance_uuid):
            return True
        try:
            with self.hold(instance_uuid):
                return False
        except exception.InstanceBusy:
            return True
