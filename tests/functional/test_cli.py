"""The ``spawnflow`` command line, in-process and as a real process.

libvirt's test:///default driver keeps its domains per process, so domains
are only checked for commands run in-process.
"""

import dataclasses
import json
import logging
import os
import subprocess
import sys
import uuid as uuidlib
from xml.etree import ElementTree

import pytest

from spawnflow import api
from spawnflow.cli import main as cli_main
from tests.fixtures import config_drive as config_drive_reader
from tests import conftest
from tests.functional import leaks

MARKUP_NAME = 'web <1> & "db" \'two\''


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self):
        return self.err.splitlines()

    def json(self):
        return json.loads(self.out)


def _run_in_process(capsys, argv):
    """Run ``main(argv)`` as a process would: fresh root logging after.

    cliff adds a root log handler on every run; a real process exits
    after one run, so the handlers it added are removed here (otherwise
    they would outlive this test's captured streams).
    """
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code = cli_main.main(list(argv))
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


class Cli:
    """``spawnflow --config-file CONFIG ...`` run in-process."""

    def __init__(self, capsys, config_file):
        self.capsys = capsys
        self.config_file = config_file

    def __call__(self, *args):
        return self.raw('--config-file', self.config_file, *args)

    def raw(self, *argv):
        return _run_in_process(self.capsys, argv)

    def ok(self, *args):
        result = self(*args)
        assert result.code == 0, result.err
        assert 'Traceback' not in result.err
        return result


def _subprocess(*argv, cwd, env=None):
    completed = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main'] + list(argv),
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return Result(completed.returncode, completed.stdout, completed.stderr)


def _tree(top):
    """Every path under ``top`` (relative), for 'created nothing' checks."""
    found = set()
    for directory, subdirs, files in os.walk(top):
        for name in subdirs + files:
            found.add(os.path.relpath(os.path.join(directory, name), top))
    return found


@pytest.fixture
def cli(capsys, config_file):
    runner = Cli(capsys, config_file)
    result = runner.ok('db', 'sync')
    assert result.out.startswith('Database at revision ')
    return runner


@pytest.fixture
def api_client(cli, config_file):
    with api.Client(config_files=[config_file]) as client:
        yield client


@pytest.fixture
def image_id(cli, tmp_path):
    path = conftest.make_qcow2(tmp_path / 'cirros.qcow2')
    image = cli.ok('image', 'create', 'cirros', '--file', path,
                   '--disk-format', 'qcow2', '-f', 'json').json()
    assert image['status'] == 'active'
    return image['id']


def _assert_nothing_created(cli, api_client, before):
    """No instance rows, volume or instance files, or new domains."""
    assert cli.ok('server', 'list', '-f', 'json').json() == []
    assert api_client.db.instance_list(read_deleted=True) == []
    after = leaks.snapshot(api_client)
    assert after['volume_files'] == set()
    assert after['instance_files'] == set()
    assert after['volume_status'] == {}
    assert after['domains'] == before['domains']


def _assert_one_error(result, expected):
    assert result.code != 0
    assert result.out == ''
    assert 'Traceback' not in result.err
    assert result.err_lines == [expected], result.err


# Images ----------------------------------------------------------------


def test_image_create_list_show(cli, tmp_path):
    path = conftest.make_qcow2(tmp_path / 'disk.qcow2', '32M')
    created = cli.ok('image', 'create', 'disk', '--file', path,
                     '--disk-format', 'qcow2', '-f', 'json').json()
    assert created['name'] == 'disk'
    assert created['disk_format'] == 'qcow2'
    assert created['virtual_size'] == 32 * 1024 ** 2
    assert created['size'] == os.path.getsize(path)
    assert created['hash_algo'] == 'sha256'

    listed = cli.ok('image', 'list', '-f', 'json').json()
    assert listed == [{'ID': created['id'], 'Name': 'disk',
                       'Status': 'active', 'Disk Format': 'qcow2',
                       'Size': created['size']}]
    shown = cli.ok('image', 'show', created['id'], '-f', 'json').json()
    assert shown == created


def test_image_show_unknown(cli):
    missing = str(uuidlib.uuid4())
    _assert_one_error(cli('image', 'show', missing),
                      'Image %s could not be found.' % missing)


def test_image_create_format_mismatch_creates_nothing(cli, tmp_path):
    raw = tmp_path / 'raw.img'
    raw.write_bytes(os.urandom(1024 * 1024))
    result = cli('image', 'create', 'bad', '--file', str(raw),
                 '--disk-format', 'qcow2')
    _assert_one_error(result, '%s is a raw image, not qcow2.' % raw)
    assert cli.ok('image', 'list', '-f', 'json').json() == []


def test_image_create_missing_file_creates_nothing(cli, tmp_path):
    missing = tmp_path / 'missing.qcow2'
    result = cli('image', 'create', 'bad', '--file', str(missing),
                 '--disk-format', 'qcow2')
    _assert_one_error(result, 'Cannot read %s: No such file or directory'
                      % missing)
    assert cli.ok('image', 'list', '-f', 'json').json() == []
    assert not missing.exists()


@pytest.mark.parametrize('path, message', [
    ('/dev/zero', '/dev/zero is not a regular file (it is a character '
                  'device); give an image file.'),
    ('/proc/self/environ', "/proc/self/environ has no size (it is empty, "
                           "or a file like /proc's); give an image file."),
    ('{tmp}', '{tmp} is not a regular file (it is a directory); give an '
              'image file.'),
    ('{tmp}/fifo', '{tmp}/fifo is not a regular file (it is a pipe); give '
                   'an image file.'),
    ('{tmp}/shadow', '{tmp}/shadow is not a raw disk image: its 999 bytes '
                     'are not a whole number of 512-byte sectors.'),
])
def test_image_create_refuses_what_is_not_an_image_file(cli, tmp_path, path,
                                                        message):
    os.mkfifo(tmp_path / 'fifo')  # opening it must not wait for a writer
    (tmp_path / 'shadow').write_text(
        'root:$y$j9T$secret:19000:0:99999:7:::\n' * 26 + 'x' * 11)
    path = path.format(tmp=tmp_path)
    images = os.path.join(os.path.dirname(cli.config_file), 'state',
                          'images')
    result = cli('image', 'create', 'bad', '--file', path, '--disk-format',
                 'raw')
    _assert_one_error(result, message.format(tmp=tmp_path))
    assert cli.ok('image', 'list', '-f', 'json').json() == []
    assert not os.path.isdir(images) or os.listdir(images) == []


def test_image_create_takes_a_partitioned_raw_disk(cli, tmp_path):
    """The format inspector names a raw disk with a partition table gpt;
    it is raw all the same."""
    disk = tmp_path / 'partitioned.raw'
    data = bytearray(1024 * 1024)
    data[446:462] = bytes([0, 0, 2, 0, 0xee, 0xff, 0xff, 0xff, 1, 0, 0, 0,
                           0xff, 0x07, 0, 0])  # a protective MBR entry
    data[510:512] = b'\x55\xaa'
    disk.write_bytes(bytes(data))
    image = cli.ok('image', 'create', 'partitioned', '--file', str(disk),
                   '--disk-format', 'raw', '-f', 'json').json()
    assert image['disk_format'] == 'raw'


def test_image_create_refuses_files_over_the_size_cap(capsys, tmp_path):
    config = conftest.write_config(
        tmp_path / 'capped.conf', tmp_path / 'state',
        extra='[local_image]\nimage_size_cap = 1048576\n')
    cli = Cli(capsys, config)
    cli.ok('db', 'sync')
    big = conftest.make_qcow2(tmp_path / 'big.qcow2')
    with open(big, 'ab') as stream:
        stream.truncate(2 * 1024 * 1024)
    _assert_one_error(
        cli('image', 'create', 'big', '--file', big, '--disk-format',
            'qcow2'),
        '%s is %d bytes; images of at most 1048576 bytes are taken '
        '([local_image] image_size_cap).' % (big, 2 * 1024 * 1024))
    assert cli.ok('image', 'list', '-f', 'json').json() == []


# Servers ---------------------------------------------------------------


def test_server_lifecycle(cli, api_client, image_id):
    before = leaks.snapshot(api_client)
    server = cli.ok(
        'server', 'create', '--flavor', 'm1.tiny', '--image', image_id,
        '--block-device',
        'source=blank,destination=volume,size=1,delete-on-termination=true',
        'vm-1', '-f', 'json').json()
    assert server['status'] == 'ACTIVE', server['fault']
    assert server['name'] == 'vm-1'
    assert server['task_state'] is None
    assert server['fault'] is None
    assert server['image'] == image_id
    assert server['flavor'] == 'm1.tiny (vcpus=1, ram=512 MiB, disk=1 GiB)'
    devices = {(b['device_name'], b['source_type'], b['destination_type'],
                b['delete_on_termination'])
               for b in server['block_devices']}
    assert devices == {('vda', 'image', 'local', False),
                       ('vdb', 'blank', 'volume', True)}
    [volume_bdm] = [b for b in server['block_devices']
                    if b['destination_type'] == 'volume']
    assert api_client.services.volume.get(
        volume_bdm['volume_id'])['status'] == 'in-use'
    assert api_client.services.virt.state(server['id']) == 'running'

    listed = cli.ok('server', 'list', '-f', 'value').out.splitlines()
    assert listed == ['%s vm-1 ACTIVE None %s m1.tiny %s' % (
        server['id'], api_client.conf.host, image_id)]

    shown = cli.ok('server', 'show', server['id'], '-f', 'json').json()
    assert shown['id'] == server['id']
    assert shown['status'] == 'ACTIVE'
    assert shown['block_devices'] == server['block_devices']

    deleted = cli.ok('server', 'delete', server['id'])
    assert deleted.out == ''
    assert cli.ok('server', 'list', '-f', 'json').json() == []
    after = leaks.snapshot(api_client)
    assert after['domains'] == before['domains']
    assert after['volume_files'] == set()
    assert after['volume_status'] == {}
    # Only the image cache (kept, as in Nova) remains.
    assert {f for f in after['instance_files']
            if not f.startswith('_base')} == set()
    _assert_one_error(cli('server', 'show', server['id']),
                      'Instance %s could not be found.' % server['id'])


@pytest.mark.parametrize('fmt', ['table', 'json', 'value'])
def test_output_formats(cli, image_id, fmt):
    server = cli.ok('server', 'create', '--flavor', 'm1.tiny', '--image',
                    image_id, 'fmt-%s' % fmt, '-f', fmt).out
    uuid = cli.ok('server', 'list', '-f', 'value', '-c', 'ID').out.strip()
    assert uuidlib.UUID(uuid)
    outputs = [server] + [cli.ok(*args, '-f', fmt).out for args in (
        ('server', 'list'), ('server', 'show', uuid), ('image', 'list'),
        ('image', 'show', image_id))]
    for out in outputs:
        if fmt == 'json':
            assert json.loads(out)
        elif fmt == 'table':
            assert out.startswith('+-') and '| ' in out
        else:
            assert '|' not in out and not out.startswith('+-')
            assert out.strip()
    assert uuid in outputs[1] and uuid in outputs[2]
    assert image_id in outputs[3] and image_id in outputs[4]


def test_markup_name_accepted(cli, api_client, image_id):
    server = cli.ok('server', 'create', '--flavor', 'm1.tiny', '--image',
                    image_id, MARKUP_NAME, '-f', 'json').json()
    assert server['status'] == 'ACTIVE', server['fault']
    assert server['name'] == MARKUP_NAME
    root = ElementTree.fromstring(api_client.services.virt.xml(server['id']))
    assert root.findtext('title') == MARKUP_NAME
    assert cli.ok('server', 'list', '-f', 'json').json()[0]['Name'] == (
        MARKUP_NAME)
    cli.ok('server', 'delete', server['id'])


_UNKNOWN_IMAGE = str(uuidlib.uuid4())


@pytest.mark.parametrize('args, message', [
    pytest.param(['--flavor', 'm1.nope', '--image', '{image}'],
                 'Flavor m1.nope could not be found.', id='unknown-flavor'),
    pytest.param(['--flavor', 'm1.tiny', '--image', _UNKNOWN_IMAGE],
                 'Image %s could not be found.' % _UNKNOWN_IMAGE,
                 id='unknown-image'),
    pytest.param(['--vcpus', '0', '--ram', '512', '--disk', '1',
                  '--image', '{image}'],
                 'vcpus must be a positive integer, not 0.', id='vcpus-0'),
    pytest.param(['--vcpus', '1', '--ram', '-1', '--disk', '1',
                  '--image', '{image}'],
                 'ram must be a positive integer, not -1.', id='ram-neg'),
    pytest.param(['--vcpus', '1', '--ram', '512', '--disk', '0',
                  '--image', '{image}'],
                 'disk must be a positive integer, not 0.', id='disk-0'),
    pytest.param(['--flavor', 'm1.tiny', '--image', '{image}',
                  '--block-device', 'source=blank,destination=volume,'
                                    'size=0'],
                 'Block device size must be a positive integer, not 0.',
                 id='bdm-size-0'),
    pytest.param(['--flavor', 'm1.tiny', '--block-device',
                  'source=blank,destination=volume,size=1,boot-index=0',
                  '--block-device',
                  'source=blank,destination=volume,size=1,boot-index=0'],
                 'Duplicate boot index 0.', id='duplicate-boot-index'),
    pytest.param(['--flavor', 'm1.tiny', '--vcpus', '1',
                  '--image', '{image}'],
                 'Give a flavor or --vcpus/--ram/--disk, not both.',
                 id='flavor-and-vcpus'),
    pytest.param(['--vcpus', '1', '--ram', '99999999999999999999',
                  '--disk', '1', '--image', '{image}'],
                 'ram must be at most 2147483647, not 99999999999999999999.',
                 id='ram-20-digits'),
    pytest.param(['--vcpus', '1', '--ram', '9' * 5000, '--disk', '1',
                  '--image', '{image}'],
                 'ram must be at most 2147483647, not a number of 5000 '
                 'digits.', id='ram-5000-digits'),
    pytest.param(['--vcpus', '1', '--ram', '2147483648', '--disk', '1',
                  '--image', '{image}'],
                 'ram must be at most 2147483647, not 2147483648.',
                 id='ram-over-int'),
    pytest.param(['--vcpus', '65', '--ram', '64', '--disk', '1',
                  '--image', '{image}'],
                 'The flavor asks for 65 vcpus; host {host} has 64 in all '
                 '(after reservations and allocation ratios).',
                 id='larger-than-the-host'),
    pytest.param(['--flavor', 'm1.tiny', '--image', '{image}',
                  '--block-device', 'source=blank,destination=volume,'
                                    'size=999999999999'],
                 'Block device size must be at most 2147483647, not '
                 '999999999999.', id='bdm-size-huge'),
    pytest.param(['--flavor', 'm1.tiny', '--image', '{image}',
                  '--block-device', 'source=blank,destination=volume,'
                                    'size=2097153'],
                 'A volume of 2097153 GiB is larger than the volume service '
                 'takes (2097152 GiB).', id='bdm-larger-than-qcow2'),
    pytest.param(['--flavor', 'm1.tiny', '--image', '{image}',
                  '--block-device', 'source=blank,destination=volume,'
                                    'size=1_0'],
                 "Block device size must be an integer, not '1_0'.",
                 id='bdm-size-underscore'),
    pytest.param(['--flavor', 'm1.tiny', '--image', '{image}',
                  '--block-device', 'source=blank,destination=volume,'
                                    'size=1,size=2'],
                 "Block device 'source=blank,destination=volume,size=1,"
                 "size=2' gives size= twice.", id='bdm-size-twice'),
])
def test_bad_server_create_creates_nothing(cli, api_client, image_id, args,
                                           message):
    before = leaks.snapshot(api_client)
    argv = [a.replace('{image}', image_id) for a in args]
    result = cli('server', 'create', *argv, 'bad', '-f', 'json')
    _assert_one_error(result, message.format(host=api_client.conf.host))
    _assert_nothing_created(cli, api_client, before)


@pytest.mark.parametrize('option, content, message', [
    ('--user-data', None, 'Cannot read the user data file {path}: No such '
     'file or directory.'),
    ('--user-data', b'x' * 65536, 'The user data file {path} is larger than '
     '65535 bytes.'),
    ('--user-data', 'fifo', 'The user data file {path} is not a regular '
     'file.'),
    ('--user-data', 'directory', 'The user data file {path} is not a '
     'regular file.'),
    ('--network-config', b'version: [', 'Network config is not YAML: while '
     'parsing a flow node'),
    ('--network-config', b'version: 3', 'Network config must be cloud-init '
     'network config version 1 or 2 (a mapping with "version: 1" or '
     '"version: 2").'),
])
def test_bad_config_drive_files_create_nothing(cli, api_client, image_id,
                                               tmp_path, option, content,
                                               message):
    path = tmp_path / 'given'
    if content == 'fifo':
        os.mkfifo(path)  # no writer: opening it must not wait for one
    elif content == 'directory':
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    before = leaks.snapshot(api_client)
    result = cli('server', 'create', '--flavor', 'm1.tiny', '--image',
                 image_id, option, str(path), 'bad')
    assert result.code == 1 and result.out == ''
    [line] = result.err_lines
    assert line.startswith(message.format(path=path)), line
    _assert_nothing_created(cli, api_client, before)


def test_user_data_reaches_the_config_drive_and_goes_with_the_server(
        cli, api_client, image_id, tmp_path):
    user_data = tmp_path / 'user-data'
    user_data.write_bytes(b'#cloud-config\n\x00\xff\n')
    network = tmp_path / 'network-config'
    network.write_bytes(b'version: 2\nethernets: {}\n')
    server = cli.ok('server', 'create', '--flavor', 'm1.tiny', '--image',
                    image_id, '--user-data', str(user_data),
                    '--network-config', str(network), 'web.example_1',
                    '-f', 'json').json()
    uuid = server['id']
    drive = api_client.services.virt.config_drive_path(uuid)
    files, label = config_drive_reader.read(drive)
    assert label == 'cidata'
    assert files['user-data'] == user_data.read_bytes()
    assert files['network-config'] == network.read_bytes()
    assert b'local-hostname: web-example-1\n' in files['meta-data']
    disks = ElementTree.fromstring(api_client.services.virt.xml(uuid))
    assert [d.find('source').get('file') for d in disks.iter('disk')
            if d.find('readonly') is not None] == [drive]
    # The test driver runs nothing, so its console is empty.
    assert cli.ok('console', 'log', uuid).out == ''

    cli.ok('server', 'delete', uuid)
    assert api_client.db.user_data_get(uuid) == (None, None)
    assert not os.path.exists(drive)


@pytest.mark.parametrize('args, message', [
    (['--lines', 'x'], "argument --lines: a number of lines from 0 to "
                       "1000000, not 'x'"),
    (['--lines', '-1'], "argument --lines: a number of lines from 0 to "
                        "1000000, not '-1'"),
    (['--lines', '9' * 50], "argument --lines: a number of lines from 0 "
                            "to 1000000, not '%s'" % ('9' * 50)),
])
def test_console_log_refuses_bad_line_counts(cli, capsys, args, message):
    with pytest.raises(SystemExit) as exited:  # argparse's own exit
        cli('console', 'log', str(uuidlib.uuid4()), *args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_console_log_of_an_unknown_server(cli):
    uuid = str(uuidlib.uuid4())
    _assert_one_error(cli('console', 'log', uuid),
                      'Instance %s could not be found.' % uuid)


def test_missing_config_file(cli, api_client, tmp_path):
    before, files = leaks.snapshot(api_client), _tree(tmp_path)
    missing = tmp_path / 'nope.conf'
    result = cli.raw('--config-file', str(missing), 'server', 'list')
    _assert_one_error(result, 'Failed to find some config files: %s'
                      % missing)
    assert _tree(tmp_path) == files
    _assert_nothing_created(cli, api_client, before)


def test_unparseable_config_file(cli, api_client, tmp_path):
    bad = tmp_path / 'bad.conf'
    bad.write_text('[DEFAULT]\nstate_path\n')
    before, files = leaks.snapshot(api_client), _tree(tmp_path)
    result = cli.raw('--config-file', str(bad), 'server', 'create',
                     '--flavor', 'm1.tiny', 'x')
    assert result.code != 0
    assert 'Traceback' not in result.err
    [line] = result.err_lines
    assert line.startswith('Failed to parse %s: ' % bad), line
    assert _tree(tmp_path) == files
    _assert_nothing_created(cli, api_client, before)


def test_repeated_in_process_runs_print_one_error_each(capsys, config_file):
    # An embedding service calls main() many times in one process.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        for _ in range(3):
            capsys.readouterr()
            code = cli_main.main(['--config-file', config_file, 'server',
                                  'create', '--flavor', 'm1.nope', 'x'])
            assert code == 1
            assert capsys.readouterr().err.splitlines() == [
                'Flavor m1.nope could not be found.']
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


# As a real process ------------------------------------------------------


@pytest.fixture
def home(tmp_path_factory, tmp_path):
    """A clean HOME and working directory, so stray files show up.

    Libraries' own caches (stevedore keeps its entry point cache under
    XDG_CACHE_HOME) go to a directory of their own, outside the tree checked.
    """
    path = tmp_path / 'home'
    path.mkdir()
    env = dict(os.environ, HOME=str(path),
               XDG_CACHE_HOME=str(tmp_path_factory.mktemp('xdg-cache')))
    return path, env


def test_console_round_trip(cli, image_id, config_file, home):
    cwd, env = home
    server = _subprocess('--config-file', config_file, 'server', 'create',
                         '--flavor', 'm1.tiny', '--image', image_id,
                         '--block-device',
                         'source=blank,destination=volume,size=1,'
                         'delete-on-termination=true',
                         'console', '-f', 'json', cwd=cwd, env=env)
    assert server.code == 0, server.err
    assert 'Traceback' not in server.err
    created = server.json()
    assert created['status'] == 'ACTIVE'
    assert len(created['block_devices']) == 2

    listed = _subprocess('--config-file', config_file, 'server', 'list',
                         '-f', 'json', cwd=cwd, env=env)
    assert [s['ID'] for s in listed.json()] == [created['id']]

    bad = _subprocess('--config-file', config_file, 'server', 'create',
                      '--flavor', 'm1.nope', '--image', image_id, 'x',
                      cwd=cwd, env=env)
    _assert_one_error(bad, 'Flavor m1.nope could not be found.')

    deleted = _subprocess('--config-file', config_file, 'server', 'delete',
                          created['id'], cwd=cwd, env=env)
    assert deleted.code == 0, deleted.err
    listed = _subprocess('--config-file', config_file, 'server', 'list',
                         '-f', 'json', cwd=cwd, env=env)
    assert listed.json() == []
    state = os.path.join(os.path.dirname(config_file), 'state')
    assert {f for f in _tree(os.path.join(state, 'volumes'))
            if not f.startswith('locks')} == set()
    assert {f for f in _tree(os.path.join(state, 'instances'))
            if not f.startswith(('locks', '_base'))} == set()
    assert _tree(cwd) == set()


@pytest.mark.parametrize('content, expected', [
    (None, 'Failed to find some config files: {path}'),
    ('[DEFAULT\nstate_path = /tmp\n', 'Failed to parse {path}: '),
])
def test_console_bad_config_file(tmp_path, home, content, expected):
    cwd, env = home
    path = tmp_path / 'spawnflow.conf'
    if content is not None:
        path.write_text(content)
    files = _tree(tmp_path)
    result = _subprocess('--config-file', str(path), 'server', 'list',
                         cwd=cwd, env=env)
    assert result.code == 1
    assert result.out == ''
    assert 'Traceback' not in result.err
    [line] = result.err_lines
    assert line.startswith(expected.format(path=path)), line
    assert _tree(tmp_path) == files


@pytest.mark.parametrize('flags, shown, hidden', [
    ([], [], ['Running cmd', 'Acquired lock']),
    (['-v'], [], ['Running cmd', 'Acquired lock']),
    (['-vv'], ['Running cmd', 'Acquired lock'], []),
])
def test_verbosity_as_in_openstackclient(cli, image_id, tmp_path, flags,
                                         shown, hidden):
    """Warnings by default, -v info, -vv debug: on the terminal and in the
    log file alike."""
    log_file = tmp_path / 'spawnflow.log'
    result = cli(*flags, '--log-file', str(log_file), 'server', 'create',
                 '--flavor', 'm1.tiny', '--image', image_id, 'verbose',
                 '-f', 'value', '-c', 'status')
    assert result.code == 0, result.err
    assert result.out == 'ACTIVE\n'
    logged = log_file.read_text()
    for text in shown:
        assert text in result.err and text in logged
    for text in hidden:
        assert text not in result.err and text not in logged
