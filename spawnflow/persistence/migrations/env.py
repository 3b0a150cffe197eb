"""Alembic environment: runs on the connection ``migration.sync`` passes."""

from alembic import context

from spawnflow.persistence import models
from spawnflow.persistence.migration import VERSION_TABLE

connection = context.config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
