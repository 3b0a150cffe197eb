"""``spawnflow``: the cliff application and its entry point."""

from importlib import metadata
import logging
import os
import signal
import sys
import threading

from cliff import app
from cliff import commandmanager
from oslo_config import cfg
from oslo_log import log as oslo_log

import spawnflow
from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow import faultinject
from spawnflow import lazy
from spawnflow import secrets

# What db, reader and client need, imported when a command first uses
# them (see SpawnflowApp).
api = lazy.module('spawnflow.api')
db_api = lazy.module('spawnflow.persistence.api')
inspection = lazy.module('spawnflow.inspection')

#: The installed package's version (pbr's, from git, at install time).
VERSION = metadata.version('spawnflow')
#: OpenStackClient's levels: -q errors only, warnings by default, -v
#: info, -vv (and more) debug; on the console and in --log-file alike.
LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}
#: Libraries whose warnings and errors the console shows only from -v:
#: TaskFlow logs a failed flow with its traceback and keystoneauth a failed
#: discovery, which spawnflow reports itself, once, as one clear error.
QUIET_LOGGERS = ('taskflow', 'keystoneauth')
#: The [DEFAULT] options of oslo.log that send the logs somewhere besides
#: the console: any of them set, oslo.log's handlers log per its options
#: (format, ``debug``, rotation, ``default_log_levels``).
_OSLO_LOG_DESTINATIONS = ('log_file', 'log_dir', 'use_syslog',
                          'use_journal', 'log_config_append')

#: Sent by the watcher of Ctrl-C to the main thread (which blocks
#: SIGINT while a command runs) to interrupt it when no flow runs.
INTERRUPT_MAIN = signal.SIGUSR1

_added_handlers = []


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class _QuietLibraries(logging.Filter):
    def filter(self, record):
        return not record.name.startswith(QUIET_LOGGERS)


class CommandManager(commandmanager.CommandManager):
    """cliff's command manager, without importing every command's module
    at start-up (stevedore's ExtensionManager, which cliff's uses, loads
    each plugin it finds): a command's module is imported when the
    command runs, or when help describes it."""

    def load_commands(self, namespace):
        self.group_list.append(namespace)
        for entry_point in metadata.entry_points(group=namespace):
            name = entry_point.name
            if self.convert_underscores:
                name = name.replace('_', ' ')
            self.commands[name] = entry_point


class SpawnflowApp(app.App):
    """Every command takes ``--config-file`` and reaches the API lazily.

    What a command uses is imported when it first uses it: ``db`` (the
    database, read-only) needs SQLAlchemy only, ``reader`` TaskFlow's
    storage too, ``client`` the engine, the drivers and their client
    libraries. So --help and the commands that only read instances start
    in a fraction of the time a build needs to import.
    """

    def __init__(self):
        super().__init__(
            description=spawnflow.__doc__,
            version=VERSION,
            command_manager=CommandManager('spawnflow.cli'),
            deferred_help=True)
        self._conf = None
        self._client = None
        self._db = None
        self._reader = None
        self._finished = False
        #: Called on Ctrl-C instead of suspending the flows, when set (a
        #: long-running command that winds down on its own).
        self.on_interrupt = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument(
            '--config-file', action='append', dest='config_files',
            metavar='PATH',
            help='Configuration file (repeatable). Default: oslo.config\'s '
                 'search path (~/.spawnflow/, /etc/spawnflow/ ...).')
        return parser

    def configure_logging(self):
        """The console at OpenStackClient's levels (see LEVELS); where the
        configuration names a destination (see _OSLO_LOG_DESTINATIONS),
        oslo.log's handlers too, in its format at its ``debug`` level;
        every record masked of secrets (spawnflow.secrets) on every
        handler.

        cliff adds its handlers to the root logger on every run; the ones an
        earlier run in this process added are removed first, so an
        embedding service calling main() repeatedly logs each line once.
        oslo.log, when the configuration asks for it, replaces every handler
        of the root logger, as it does in any OpenStack service.
        """
        root = logging.getLogger()
        for handler in _added_handlers:
            root.removeHandler(handler)
            handler.close()
        _added_handlers[:] = []
        level = LEVELS.get(self.options.verbose_level, logging.DEBUG)
        if self.options.log_file:
            log_file = logging.FileHandler(self.options.log_file)
            log_file.setFormatter(logging.Formatter(
                self.LOG_FILE_MESSAGE_FORMAT))
            _added_handlers.append(log_file)
        console = logging.StreamHandler(self.stderr)
        console.setFormatter(logging.Formatter(self.CONSOLE_MESSAGE_FORMAT))
        if level > logging.INFO:
            console.addFilter(_QuietLibraries())
        _added_handlers.append(console)
        for handler in _added_handlers:
            handler.setLevel(level)
            root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        conf = self._logging_conf()
        if conf is not None and any(
                conf[name] for name in _OSLO_LOG_DESTINATIONS):
            oslo_log.setup(conf, 'spawnflow', version=VERSION)
            for handler in root.handlers:
                if handler.level == logging.NOTSET:
                    handler.setLevel(root.level)  # oslo.log's debug or not
            for handler in _added_handlers:
                root.addHandler(handler)
            root.setLevel(min(root.level, level))
        masking = secrets.MaskingFilter()
        for handler in root.handlers:
            handler.addFilter(masking)

    def _logging_conf(self):
        """The configuration, or None when it cannot be read (the command
        reports why, in one line, when it reads it)."""
        try:
            return self.conf
        except cfg.Error:
            return None

    def initialize_app(self, argv):
        faultinject.check_environment()

    @property
    def conf(self):
        if self._conf is None:
            self._conf = spawnflow_conf.load(self.options.config_files)
        return self._conf

    @property
    def client(self):
        if self._client is None:
            self._client = api.Client(conf=self.conf)
        return self._client

    @property
    def db(self):
        """The database, read-only (instances, actions, faults)."""
        if self._db is None:
            self._db = db_api.Database.from_conf(self.conf, read_only=True)
        return self._db

    @property
    def reader(self):
        """Read-only access to flows and instances (inspection)."""
        if self._reader is None:
            self._reader = inspection.Reader(self.conf)
        return self._reader

    def prepare_to_run_command(self, cmd):
        """Run the command with Ctrl-C stopping its flows at the next task
        boundary (see _watch_interrupts); an interrupted flow is reported
        and the command exits 130, as for any Ctrl-C."""
        run = cmd.run

        def interruptible(parsed_args):
            if threading.current_thread() is not threading.main_thread():
                return run(parsed_args)  # an embedder's thread: its signals
            # SIGINT is blocked in this thread, and so in every thread it
            # starts (the engine's workers), and taken by the watcher: a
            # signal handler would run only once the main thread wakes,
            # and might then find it holding a lock it needs.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            previous = signal.signal(INTERRUPT_MAIN, _raise_interrupt)
            watcher = threading.Thread(target=self._watch_interrupts,
                                       name='spawnflow-interrupts',
                                       daemon=True)
            watcher.start()
            try:
                return run(parsed_args)
            except exception.Interrupted as error:
                self.stderr.write('%s\n' % error)
                raise KeyboardInterrupt from error
            finally:
                self._finished = True
                signal.pthread_kill(watcher.ident, signal.SIGINT)
                watcher.join()
                signal.signal(INTERRUPT_MAIN, previous)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        cmd.run = interruptible

    def _watch_interrupts(self):
        """First Ctrl-C: flows stop once their running tasks finish (the
        state is saved, `spawnflow resume` goes on). Second: stop now, as
        a crash would, which resume also recovers from. With no flow
        running, Ctrl-C interrupts the command as usual, at once."""
        interrupts = 0
        while True:
            signal.sigwait({signal.SIGINT})
            if self._finished:
                return
            interrupts += 1
            engine = self._client.engine if self._client is not None \
                else None
            if self.on_interrupt is not None and interrupts == 1:
                self.stderr.write('Interrupted: stopping after the running '
                                  'tasks (Ctrl-C again to stop at once).\n')
                self.stderr.flush()
                self.on_interrupt()
            elif engine is None or not engine.running():
                # Interrupt the main thread's blocking call (a connection,
                # a read) now, as Ctrl-C would.
                signal.pthread_kill(threading.main_thread().ident,
                                    INTERRUPT_MAIN)
            elif interrupts == 1:
                self.stderr.write(
                    'Interrupted: stopping after the running task (Ctrl-C '
                    'again to stop at once; either way what is left is for '
                    '`spawnflow resume`).\n')
                self.stderr.flush()
                engine.suspend()
            else:
                self.stderr.write('Stopped at once; `spawnflow resume` '
                                  'finishes the interrupted flows.\n')
                self.stderr.flush()
                os._exit(130)

    def clean_up(self, cmd, result, err):
        if self._client is not None:
            self._client.close()
        if self._db is not None:
            self._db.engine.dispose()
        if self._reader is not None:
            self._reader.close()


def main(argv=None):
    """Run one command; cliff prints a failing command's error and returns 1.
    """
    return SpawnflowApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
