"""TaskFlow's SQL persistence on spawnflow's own engine.

TaskFlow's stock backend builds a new ``Connection`` (a fresh MetaData and
every Table) for each state save, which defeats SQLAlchemy's statement cache.
The tables never change, so one connection object serves the whole process.
"""

from taskflow.persistence.backends import impl_sqlalchemy


class SQLBackend(impl_sqlalchemy.SQLAlchemyBackend):
    """A stock SQLAlchemy backend that builds its table metadata once."""

    def __init__(self, engine):
        super().__init__({'connection': engine.url.render_as_string(
            hide_password=True)}, engine=engine)
        self._connection = None

    def get_connection(self):
        if self._connection is None:
            self._connection = super().get_connection()
        return self._connection
