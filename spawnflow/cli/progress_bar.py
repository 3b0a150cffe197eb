"""A terminal progress bar per task that reports progress (image download)."""

from rich import console as rich_console
from rich import progress as rich_progress

from spawnflow import progress


class TaskProgressBars:
    """Context manager drawing one bar per reporting task on ``stream``."""

    def __init__(self, stream):
        self._progress = rich_progress.Progress(
            rich_progress.TextColumn('{task.description}'),
            rich_progress.BarColumn(),
            rich_progress.TaskProgressColumn(),
            rich_progress.TimeElapsedColumn(),
            console=rich_console.Console(file=stream))
        self._bars = {}

    def __enter__(self):
        self._progress.start()
        return self

    def __exit__(self, *exc_info):
        self._progress.stop()

    def update(self, task_name, fraction):
        if task_name not in self._bars:
            self._bars[task_name] = self._progress.add_task(task_name,
                                                            total=1.0)
        self._progress.update(self._bars[task_name], completed=fraction)

    def listener(self, engine):
        """A listener factory for ``Engine.listener_factories``."""
        return progress.ProgressListener(engine, self.update)
