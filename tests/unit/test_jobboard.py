"""[jobboard] options as TaskFlow's board configuration."""

from spawnflow import conf as spawnflow_conf
from spawnflow import jobboard


def _conf(tmp_path, text):
    path = tmp_path / 'spawnflow.conf'
    path.write_text('[DEFAULT]\nstate_path = %s\n%s' % (tmp_path, text))
    return spawnflow_conf.load([str(path)])


def test_redis_board(tmp_path):
    conf = _conf(tmp_path, '[jobboard]\nbackend = redis\nhosts = 127.0.0.1\n'
                 'password = s3cret\nnamespace = prod\n')
    assert jobboard.enabled(conf)
    assert jobboard.board_conf(conf) == {
        'board': 'redis', 'host': '127.0.0.1', 'port': 6379,
        'namespace': 'prod', 'password': 's3cret', 'socket_timeout': 5.0,
        'socket_connect_timeout': 5.0}


def test_zookeeper_board_through_the_same_options(tmp_path):
    conf = _conf(tmp_path, '[jobboard]\nbackend = zookeeper\n'
                 'hosts = 127.0.0.1,127.0.0.2\nnamespace = prod\n')
    assert jobboard.board_conf(conf) == {
        'board': 'zookeeper', 'hosts': '127.0.0.1:2181,127.0.0.2:2181',
        'path': '/spawnflow/jobs/prod', 'timeout': 5.0}


def test_no_board_by_default(tmp_path):
    assert not jobboard.enabled(_conf(tmp_path, ''))
