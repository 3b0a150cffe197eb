"""Fault injection for tests and operators: kill or fail at a named task.

``SPAWNFLOW_CRASH_AT=<task>:<point>`` kills the process with SIGKILL when
the task reaches the point:

- ``before-execute``: the task is RUNNING, nothing done yet;
- ``after-execute``: the task did its work, its result is not saved;
- ``before-revert``: the task is REVERTING, nothing undone yet;
- ``after-revert``: the task undid its work, that is not saved.

``SPAWNFLOW_FAIL_AT=<task>`` makes the task fail (before doing anything)
with InjectedFailure, to drive a build into its revert path.
"""

import os
import signal

from spawnflow import exception

CRASH_ENV = 'SPAWNFLOW_CRASH_AT'
FAIL_ENV = 'SPAWNFLOW_FAIL_AT'
POINTS = ('before-execute', 'after-execute', 'before-revert', 'after-revert')


class InjectedFailure(exception.SpawnflowError):
    def __init__(self, task_name):
        super().__init__('failure injected at %s (%s)' % (task_name,
                                                          FAIL_ENV))


def check_environment():
    """Refuse a malformed SPAWNFLOW_CRASH_AT before anything runs."""
    spec = os.environ.get(CRASH_ENV)
    if spec:
        _task, _sep, point = spec.rpartition(':')
        if not _task or point not in POINTS:
            raise exception.InvalidRequest(
                '%s must be <task>:<point> with point one of %s, not %r.'
                % (CRASH_ENV, ', '.join(POINTS), spec))


def reached(task_name, point):
    """Called by every task at each point; acts when the switch names it."""
    if os.environ.get(CRASH_ENV) == '%s:%s' % (task_name, point):
        os.kill(os.getpid(), signal.SIGKILL)
    if point == 'before-execute' and os.environ.get(FAIL_ENV) == task_name:
        raise InjectedFailure(task_name)
