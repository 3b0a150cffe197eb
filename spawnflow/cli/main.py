"""``spawnflow``: the cliff application and its entry point."""

import logging
import sys

from cliff import app
from cliff import commandmanager
from oslo_config import cfg

import spawnflow
from spawnflow import api
from spawnflow import exception


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
        """Warnings only by default (as OpenStackClient); -v adds info."""
        super().configure_logging()
        if self.options.verbose_level <= 1:
            for handler in logging.getLogger().handlers:
                if handler.level < logging.WARNING:
                    handler.setLevel(logging.WARNING)

    @property
    def client(self):
        if self._client is None:
            self._client = api.Client(config_files=self.options.config_files)
        return self._client

    def clean_up(self, cmd, result, err):
        if self._client is not None:
            self._client.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        return SpawnflowApp().run(argv)
    except (exception.SpawnflowError, cfg.Error) as error:
        sys.stderr.write('Error: %s\n' % error)
        return 1


if __name__ == '__main__':
    sys.exit(main())
