"""TaskFlow's own persistence test suite (taskflow.tests.unit.persistence
.base, shipped in the taskflow wheel) run against spawnflow's backend
(persistence.taskflow_backend: one connection, saves that write without
reading first) on SQLite, PostgreSQL and MariaDB: whatever TaskFlow
expects of a backend, this one does too."""

import contextlib
import unittest

import pytest
from taskflow.tests.unit.persistence import base as tf_persistence

from spawnflow.persistence import api as db_api
from spawnflow.persistence import taskflow_backend
from tests import conftest


class _SpawnflowBackend(tf_persistence.PersistenceTestMixin):
    """The suite on a fresh database of ``database`` each test."""

    database = None

    @pytest.fixture(autouse=True)
    def _backend(self, request, tmp_path):
        with conftest.fresh_database(request, self.database, tmp_path,
                                     'taskflow') as url:
            engine = db_api.create_engine(url)
            self.backend = taskflow_backend.SQLBackend(engine)
            with contextlib.closing(self.backend.get_connection()) as conn:
                conn.upgrade()
            yield
            engine.dispose()

    def _get_connection(self):
        return self.backend.get_connection()


class TestOnSQLite(_SpawnflowBackend, unittest.TestCase):
    database = 'sqlite'


class TestOnPostgreSQL(_SpawnflowBackend, unittest.TestCase):
    database = 'postgresql'


class TestOnMariaDB(_SpawnflowBackend, unittest.TestCase):
    database = 'mariadb'
