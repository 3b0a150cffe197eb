"""TaskFlow notifications of a flow's tasks, passed on to an observer.

Three kinds: task state changes (the engine's atom notifier), progress
(0.0 to 1.0, TaskFlow's EVENT_UPDATE_PROGRESS, which TaskFlow also saves)
and bytes transferred (EVENT_TRANSFERRED, which tasks that download send
as each chunk arrives; nothing saves it).
"""

import functools

from taskflow.listeners import base
from taskflow import states
from taskflow import task as tf_task

#: A task event: ``{'done': bytes so far, 'total': bytes or None}``.
EVENT_TRANSFERRED = 'transferred'

TASK_STATES = (states.RUNNING, states.SUCCESS, states.FAILURE,
               states.REVERTING, states.REVERTED, states.REVERT_FAILURE)


class Observer:
    """What a ProgressListener calls; every method does nothing here."""

    def flow_tasks(self, names):
        """The names of the flow's tasks, before it runs."""

    def task_state(self, name, state, failure=None):
        """A task entered ``state``; ``failure`` (a TaskFlow Failure) for
        FAILURE and REVERT_FAILURE."""

    def progress(self, name, fraction):
        """A task's progress, 0.0 to 1.0."""

    def transferred(self, name, done, total):
        """A task's download: ``done`` bytes of ``total`` (None: unknown)."""


class ProgressListener(base.Listener):
    """Passes the state changes, progress and transfers of every task of
    the engine's flow to ``observer`` (an Observer)."""

    def __init__(self, engine, observer):
        super().__init__(engine, task_listen_for=TASK_STATES,
                         flow_listen_for=())
        self._observer = observer
        self._receivers = []

    def _tasks(self):
        self._engine.compile()  # idempotent; the engine compiles anyway
        return [atom for atom in self._engine.compilation.execution_graph
                if isinstance(atom, tf_task.Task)]

    def register(self):
        super().register()
        tasks = self._tasks()
        self._observer.flow_tasks([task.name for task in tasks])
        for task in tasks:
            for event, handler in ((tf_task.EVENT_UPDATE_PROGRESS,
                                    self._on_progress),
                                   (EVENT_TRANSFERRED, self._on_transferred)):
                if task.notifier.can_be_registered(event):
                    receiver = functools.partial(handler, task.name)
                    task.notifier.register(event, receiver)
                    self._receivers.append((task, event, receiver))

    def deregister(self):
        for task, event, receiver in self._receivers:
            task.notifier.deregister(event, receiver)
        self._receivers = []
        super().deregister()

    def _task_receiver(self, state, details):
        failed = state in (states.FAILURE, states.REVERT_FAILURE)
        self._observer.task_state(details['task_name'], state,
                                  details.get('result') if failed else None)

    def _on_progress(self, task_name, event_type, details):
        self._observer.progress(task_name, details['progress'])

    def _on_transferred(self, task_name, event_type, details):
        self._observer.transferred(task_name, details['done'],
                                   details['total'])
