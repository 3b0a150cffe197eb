"""Alembic environment: runs on the connection ``migration.sync`` passes,
or, from alembic's own command, on the URL given with ``-x url=`` or as
``sqlalchemy.url`` (see ../alembic.ini)."""

from alembic import context
import sqlalchemy as sa

from spawnflow.persistence import models
from spawnflow.persistence.migration import VERSION_TABLE


def _url():
    url = (context.get_x_argument(as_dictionary=True).get('url')
           or context.config.get_main_option('sqlalchemy.url'))
    if not url:
        raise SystemExit('No database URL: pass -x url=DATABASE_URL (the '
                         '[database] connection) or set sqlalchemy.url.')
    return url


def _run(connection=None, url=None):
    dialect = connection.dialect.name if connection is not None else (
        sa.engine.make_url(url).get_backend_name())
    context.configure(connection=connection, url=url,
                      target_metadata=models.metadata,
                      version_table=VERSION_TABLE,
                      render_as_batch=dialect == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


if 'connection' in context.config.attributes:
    _run(connection=context.config.attributes['connection'])
elif context.is_offline_mode():
    _run(url=_url())
else:
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection=connection)
    finally:
        engine.dispose()
