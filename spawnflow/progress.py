"""TaskFlow progress notifications of a flow's tasks, for listeners."""

import functools

from taskflow.listeners import base
from taskflow import task as tf_task


class ProgressListener(base.Listener):
    """Calls ``callback(task_name, progress)`` for every progress update
    (0.0 to 1.0) of every task of the engine's flow."""

    def __init__(self, engine, callback):
        super().__init__(engine, task_listen_for=(), flow_listen_for=())
        self._callback = callback
        self._receivers = []

    def _tasks(self):
        self._engine.compile()  # idempotent; the engine compiles anyway
        return [atom for atom in self._engine.compilation.execution_graph
                if isinstance(atom, tf_task.Task)]

    def register(self):
        super().register()
        for task in self._tasks():
            receiver = functools.partial(self._on_progress, task.name)
            task.notifier.register(tf_task.EVENT_UPDATE_PROGRESS, receiver)
            self._receivers.append((task, receiver))

    def deregister(self):
        for task, receiver in self._receivers:
            task.notifier.deregister(tf_task.EVENT_UPDATE_PROGRESS, receiver)
        self._receivers = []
        super().deregister()

    def _on_progress(self, task_name, event_type, details):
        self._callback(task_name, details['progress'])
