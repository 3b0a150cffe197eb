"""One clear message (and exit code 1) for what a user meets when the
database or a service is not as it should be: schema missing, a read-only
or corrupted SQLite file, a wrong Cinder endpoint. (Unreachable services:
test_undo; stalled image transfers: test_http_image_hostile.)"""

import subprocess
import sys

import pytest

from tests import conftest
from tests.functional import openstack
from tests.functional.test_cli import Cli

BLANK = 'source=blank,destination=volume,size=1,boot-index=0'


def _spawnflow(config, *args):
    return subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         *args], capture_output=True, text=True, timeout=300)


def _assert_one_line(result, expected):
    assert result.returncode == 1, result
    assert result.stdout == ''
    assert result.stderr.splitlines() == [expected], result.stderr


@pytest.fixture
def state(tmp_path):
    return tmp_path / 'state'


@pytest.fixture
def config(tmp_path, state):
    return conftest.write_config(tmp_path / 'spawnflow.conf', state)


def _database(state):
    return 'sqlite:///%s' % (state / 'spawnflow.sqlite')


@pytest.mark.parametrize('args', [
    ['resume'], ['orphans', 'list'],
    ['server', 'create', '--flavor', 'm1.tiny', '--block-device', BLANK,
     'vm']])
def test_schema_missing_says_run_db_sync(config, state, args):
    _assert_one_line(_spawnflow(config, *args),
                     'The database %s has no spawnflow tables: run '
                     '`spawnflow db sync`.' % _database(state))


@pytest.mark.parametrize('args', [
    ['server', 'list'], ['server', 'show', 'x'],
    ['server', 'event', 'list', 'x']])
def test_reading_without_a_database_says_run_db_sync(config, state, args):
    """The commands that only read open the database read-only: a missing
    file is refused, not made."""
    _assert_one_line(_spawnflow(config, *args),
                     'No database at %s: run `spawnflow db sync` first.'
                     % (state / 'spawnflow.sqlite'))
    assert not (state / 'spawnflow.sqlite').exists()


@pytest.mark.parametrize('option, valid', [
    ('compute_driver', 'libvirt'), ('image_driver', 'glance, http, local'),
    ('volume_driver', 'cinder, local')])
def test_unknown_driver_lists_the_valid_ones(tmp_path, state, option, valid):
    config = conftest.write_config(tmp_path / 'spawnflow.conf', state,
                                   extra='[DEFAULT]\n%s = nosuch\n' % option)
    _assert_one_line(_spawnflow(config, 'image', 'list'),
                     '[DEFAULT] %s = nosuch: no such driver (valid: %s).'
                     % (option, valid))
    assert not state.exists()


@pytest.mark.parametrize('args', [['db', 'sync'], ['server', 'list']])
def test_corrupted_database(config, state, args):
    state.mkdir()
    (state / 'spawnflow.sqlite').write_bytes(b'not a database\0' * 1000)
    _assert_one_line(_spawnflow(config, *args),
                     'The database %s is corrupted or not a database: file '
                     'is not a database' % _database(state))


@pytest.fixture
def immutable(state, config):
    """A real read-only database: synced, then made immutable (chattr +i,
    which root cannot write through either)."""
    assert _spawnflow(config, 'db', 'sync').returncode == 0
    path = state / 'spawnflow.sqlite'
    made = subprocess.run(['chattr', '+i', str(path)], capture_output=True,
                          text=True)
    if made.returncode:
        pytest.skip('cannot make a read-only file here (chattr +i: %s)'
                    % made.stderr.strip())
    yield path
    subprocess.run(['chattr', '-i', str(path)], check=True)


def test_read_only_database(config, state, immutable):
    before = immutable.read_bytes()
    result = _spawnflow(config, 'server', 'create', '--flavor', 'm1.tiny',
                        '--block-device', BLANK, 'vm')
    _assert_one_line(result, 'The database %s is read-only: attempt to '
                             'write a readonly database' % _database(state))
    assert immutable.read_bytes() == before
    assert not (state / 'volumes').exists() or not any(
        (state / 'volumes').glob('*.json'))


def test_wrong_cinder_endpoint(tmp_path, glance, cinder, capsys):
    """[cinder] points at Glance: every Cinder URL is 404 there."""
    config = openstack.config(tmp_path, glance, cinder,
                              cinder_endpoint=glance.endpoint + '/v3')
    cli = Cli(capsys, config)
    cli.ok('db', 'sync')
    result = cli('server', 'create', '--flavor', 'm1.tiny', '--block-device',
                 BLANK, 'vm')
    assert result.code == 1
    assert 'Traceback' not in result.err
    [line] = result.err_lines
    assert line.startswith('Cinder refused to read the volume limits: '), line
    assert line.endswith('; is the [cinder] endpoint a Block Storage v3 '
                         'API?'), line
    assert cli.ok('server', 'list', '-f', 'json').json() == []
