"""A build shown on a terminal as it runs (rich): one line for the build,
a bar for a download, a line per failed task and per revert."""

import threading

from rich import console as rich_console
from rich import live as rich_live
from rich import markup
from rich import progress as rich_progress
from rich import table as rich_table
from taskflow import states

from spawnflow import progress
from spawnflow import secrets


class BuildProgress(progress.Observer):
    """Context manager drawing the build on ``stream`` (a terminal).

    While the build runs: a spinner line naming the running tasks, and
    a bar (bytes, speed, time left) for each download. A failed task and
    each revert are printed as they end; when the build failed, a summary
    line stays once the display is gone.
    """

    def __init__(self, stream):
        self._console = rich_console.Console(file=stream)
        self._build = rich_progress.Progress(
            rich_progress.SpinnerColumn(),
            rich_progress.TextColumn(
                '{task.description}',
                table_column=rich_table.Column(no_wrap=True)),
            rich_progress.TimeElapsedColumn(), console=self._console)
        self._downloads = rich_progress.Progress(
            rich_progress.TextColumn('  {task.description}'),
            rich_progress.BarColumn(),
            rich_progress.DownloadColumn(),
            rich_progress.TransferSpeedColumn(),
            rich_progress.TimeRemainingColumn(), console=self._console)
        self._live = rich_live.Live(
            rich_console.Group(self._build, self._downloads),
            console=self._console, transient=True, refresh_per_second=10,
            redirect_stdout=False)
        self._line = self._build.add_task('building', total=None)
        self._lock = threading.Lock()
        self._total = 0
        self._started = set()
        self._running = []
        #: Download bars by task name: (bar id, bytes done).
        self._bars = {}
        self._failed = []
        self._reverted = 0
        self._revert_failures = 0

    def __enter__(self):
        self._live.start()
        return self

    def __exit__(self, *exc_info):
        self._live.stop()
        if self._failed:
            summary = 'build failed at %s; reverted %d tasks' % (
                ', '.join(self._failed), self._reverted)
            if self._revert_failures:
                summary += '; %d reverts failed' % self._revert_failures
            self._console.print(markup.escape(summary), style='bold red')

    def listener(self, engine):
        """A listener factory for ``Engine.listener_factories``."""
        return progress.ProgressListener(engine, self)

    def flow_tasks(self, names):
        with self._lock:
            self._total = len(names)
            self._describe()

    def task_state(self, name, state, failure=None):
        with self._lock:
            if state == states.RUNNING:
                self._started.add(name)
            if state in (states.RUNNING, states.REVERTING):
                self._running.append(name)
            elif name in self._running:
                self._running.remove(name)
            if state == states.FAILURE:
                self._failed.append(name)
                self._print('[red]✗[/] %s failed: %s', name, failure)
            elif state == states.REVERTED:
                self._reverted += 1
                self._print('  reverted %s', name)
            elif state == states.REVERT_FAILURE:
                self._revert_failures += 1
                self._print('[red]✗[/] revert of %s failed: %s', name,
                            failure)
            if state != states.RUNNING and name in self._bars:
                self._downloads.remove_task(self._bars.pop(name)[0])
            self._describe()

    def transferred(self, name, done, total):
        with self._lock:
            bar, before = self._bars.get(name, (None, 0))
            if bar is None:
                bar = self._downloads.add_task(name, total=total,
                                               completed=done)
            elif done < before:  # downloading again after a broken transfer
                self._downloads.reset(bar, total=total, completed=done)
            else:
                self._downloads.update(bar, total=total, completed=done)
            self._bars[name] = (bar, done)

    def _print(self, template, name, failure=None):
        args = (markup.escape(name),)
        if failure is not None:
            args += (markup.escape(secrets.mask_text(failure.exception_str)),)
        self._live.console.print(template % args, highlight=False,
                                 soft_wrap=True)

    def _describe(self):
        """The build line: what runs now, and how far the build is."""
        if self._failed:
            what, count = 'reverting', '%d reverted' % self._reverted
        else:
            what = 'building'
            count = 'task %d of %d' % (len(self._started), self._total)
        if self._running:
            what += ' ' + ', '.join(self._running)
        self._build.update(self._line, description=markup.escape(
            '%s (%s)' % (what, count)))
