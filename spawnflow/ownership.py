"""One live owner per instance.

Whatever runs a flow of an instance (a build, a delete, a resume) holds the
instance's owner lock while it runs it: an OS file lock (with a semaphore
for the threads of one process), which dies with its process. So a flow
whose lock is free has no live owner (its process crashed or stopped) and
may be resumed; one whose lock is held is left to its owner.

The lock files live under ``<instances_path>/locks``, which every process
of a deployment on this host shares.
"""

import contextlib
import threading

from oslo_concurrency import lockutils
import tenacity

from spawnflow import exception


class Owners:
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
