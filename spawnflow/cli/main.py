"""``spawnflow``: the cliff application and its entry point."""

import logging
import sys

from cliff import app
from cliff import commandmanager

import spawnflow
from spawnflow import api
from spawnflow import faultinject


_added_handlers = []


class SpawnflowApp(app.App):
    """Every command takes ``--config-file`` and reaches the API lazily."""

    def __init__(self):
        super().__init__(
            description=spawnflow.__doc__,
            version='spawnflow',
            command_manager=commandmanager.CommandManager('spawnflow.cli'),
            deferred_help=True)
        self._client = None

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
        """Warnings only by default (as OpenStackClient); -v adds info.

        cliff adds its handlers to the root logger on every run; the ones an
        earlier run in this process added are removed first, so an
        embedding service calling main() repeatedly logs each line once.
        """
        root = logging.getLogger()
        for handler in _added_handlers:
            root.removeHandler(handler)
        before = set(root.handlers)
        super().configure_logging()
        _added_handlers[:] = [h for h in root.handlers if h not in before]
        if self.options.verbose_level <= 1:
            for handler in logging.getLogger().handlers:
                if handler.level < logging.WARNING:
                    handler.setLevel(logging.WARNING)

    def initialize_app(self, argv):
        faultinject.check_environment()

    @property
    def client(self):
        if self._client is None:
            self._client = api.Client(config_files=self.options.config_files)
        return self._client

    def clean_up(self, cmd, result, err):
        if self._client is not None:
            self._client.close()


def main(argv=None):
    """Run one command; cliff prints a failing command's error and returns 1.
    """
    return SpawnflowApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
