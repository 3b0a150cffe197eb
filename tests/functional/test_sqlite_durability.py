"""[database] sqlite_synchronous: NORMAL (the default: commits survive a
killed process) or FULL (a power loss too), set on every connection;
anything else is refused before a database is opened."""

import pytest

from spawnflow import conf as spawnflow_conf
from spawnflow.persistence import api as db_api
from tests import conftest


@pytest.mark.parametrize('setting, pragma', [(None, 1), ('FULL', 2),
                                             ('NORMAL', 1)])
def test_each_connection_gets_the_setting(tmp_path, setting, pragma):
    extra = ('[database]\nsqlite_synchronous = %s\n' % setting
             if setting else '')
    conf = spawnflow_conf.load([conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state', extra=extra)])
    db = db_api.Database.from_conf(conf)
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql(
            'PRAGMA synchronous').scalar() == pragma
        assert connection.exec_driver_sql(
            'PRAGMA journal_mode').scalar() == 'wal'
    db.engine.dispose()


def test_another_value_is_refused(tmp_path):
    conf = spawnflow_conf.load([conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state',
        extra='[database]\nsqlite_synchronous = OFF\n')])
    with pytest.raises(ValueError, match='NORMAL, FULL'):
        conf.database.sqlite_synchronous
    assert not (tmp_path / 'state').exists()
