"""Common base for spawnflow tasks."""

from taskflow import task


class BaseTask(task.Task):
    """A task named after its class unless told otherwise."""

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name or _dashed(type(self).__name__), **kwargs)


def _dashed(class_name):
    return ''.join('-' + c.lower() if c.isupper() else c
                   for c in class_name).lstrip('-')
