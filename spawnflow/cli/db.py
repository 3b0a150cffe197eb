"""``spawnflow db sync|version``."""

from spawnflow.cli import base
from spawnflow import lazy

errors = lazy.module('spawnflow.persistence.errors')
migration = lazy.module('spawnflow.persistence.migration')


class SyncDatabase(base.Command):
    """Create or upgrade the database schema (spawnflow's and TaskFlow's)."""

    def take_action(self, parsed_args):
        client = self.app.client
        client.db_sync()
        self.app.stdout.write('Database at revision %s.\n'
                              % migration.current_revision(client.db.engine))


class ShowDatabaseVersion(base.ShowOne):
    """Show the database's schema revision and the newest this code has.

    It also says whether db sync has work to do. Reads only: a database
    that does not exist is an error, not made.
    """

    def take_action(self, parsed_args):
        db = self.app.db
        current = errors.guarded(db.retry, db.engine.url, 'db version',
                                 migration.current_revision, db.engine)
        head = migration.head_revision()
        return (('Revision', 'Head', 'Up To Date'),
                (current or '', head, current == head))
