"""Common base for spawnflow tasks."""

from taskflow import task

from spawnflow import faultinject


class BaseTask(task.Task):
    """A task named after its class unless told otherwise, with the fault
    injection points of spawnflow.faultinject around execute and revert."""

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name or _dashed(type(self).__name__), **kwargs)

    def pre_execute(self):
        faultinject.reached(self.name, 'before-execute')

    def post_execute(self):
        faultinject.reached(self.name, 'after-execute')

    def pre_revert(self):
        faultinject.reached(self.name, 'before-revert')

    def post_revert(self):
        faultinject.reached(self.name, 'after-revert')


def _dashed(class_name):
    return ''.join('-' + c.lower() if c.isupper() else c
                   for c in class_name).lstrip('-')
