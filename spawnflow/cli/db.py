"""``spawnflow db sync``."""

from cliff import command

from spawnflow.persistence import migration


class SyncDatabase(command.Command):
    """Create or upgrade the database schema (spawnflow's and TaskFlow's)."""

    def take_action(self, parsed_args):
        client = self.app.client
        client.db_sync()
        self.app.stdout.write('Database at revision %s.\n'
                              % migration.current_revision(client.db.engine))
