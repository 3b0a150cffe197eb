"""``spawnflow db sync``: TaskFlow's tables, then spawnflow's Alembic chain
(which indexes TaskFlow's tables too);
``spawnflow db version``: the revision a database is at.

The chain's configuration is alembic.ini beside this module, which
alembic's own command reads too."""

import contextlib
import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

#: Not alembic's default name, which TaskFlow's own chain uses on the same
#: database.
VERSION_TABLE = 'spawnflow_alembic_version'
ALEMBIC_INI = os.path.join(os.path.dirname(__file__), 'alembic.ini')


def _config(connection=None):
    config = alembic_config.Config(ALEMBIC_INI)
    if connection is not None:
        config.attributes['connection'] = connection
    return config


def sync(engine, taskflow_backend):
    """Bring both schemas to their newest revision (idempotent):
    TaskFlow's first, as spawnflow's chain indexes its tables."""
    with contextlib.closing(taskflow_backend.get_connection()) as conn:
        conn.upgrade()
    with engine.begin() as connection:
        command.upgrade(_config(connection), 'head')


def current_revision(engine):
    """The revision of spawnflow's chain the database is at (None before
    the first sync)."""
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(
            connection, opts={'version_table': VERSION_TABLE})
        return context.get_current_revision()


def head_revision():
    """The newest revision of the chain this code has."""
    return alembic_script.ScriptDirectory.from_config(
        _config()).get_current_head()
