"""``spawnflow db sync``: spawnflow's Alembic chain, then TaskFlow's tables."""

import contextlib
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

#: Not alembic's default name, which TaskFlow's own chain uses on the same
#: database.
VERSION_TABLE = 'spawnflow_alembic_version'
_SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection):
    config = alembic_config.Config()
    config.set_main_option('script_location', _SCRIPT_LOCATION)
    config.attributes['connection'] = connection
    return config


def sync(engine, taskflow_backend):
    """Bring both schemas to their newest revision (idempotent)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), 'head')
    with contextlib.closing(taskflow_backend.get_connection()) as conn:
        conn.upgrade()


def current_revision(engine):
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={'version_table': VERSION_TABLE})
        return context.get_current_revision()


def head_revision():
    return alembic_script.ScriptDirectory(_SCRIPT_LOCATION).get_current_head()
