"""Act at an exact task transition of a running flow, without sleeping.

TaskFlow notifies listeners synchronously when an atom changes state, before
the next atom is scheduled, so a callback here runs at a known point.
"""

from taskflow.listeners import base


class OnTransition(base.Listener):
    def __init__(self, engine, task_name, state, callback):
        super().__init__(engine, task_listen_for=(state,),
                         flow_listen_for=())
        self._task_name = task_name
        self._callback = callback
        self.fired = False

    def _task_receiver(self, state, details):
        if details['task_name'] == self._task_name and not self.fired:
            self.fired = True
            self._callback()


def at(client, task_name, state, callback):
    """Call ``callback()`` when ``task_name`` reaches ``state``."""
    client.engine.listener_factories.append(
        lambda engine: OnTransition(engine, task_name, state, callback))


class RecordTaskStates(base.Listener):
    """The instance's task_state after each task, for the CAS tests."""

    def __init__(self, engine, db, seen):
        super().__init__(engine, task_listen_for=('SUCCESS',),
                         flow_listen_for=())
        self._db = db
        self._seen = seen

    def _task_receiver(self, state, details):
        uuid = self._engine.storage.fetch('instance_uuid')
        self._seen.append(self._db.instance_get(uuid, read_deleted=True)
                          ['task_state'])
