"""``spawnflow flow show`` and ``flow graph`` on real builds (local stores,
libvirt's test driver): every atom with its recorded state, the failed
task and the revert path, a build killed mid-flow and resumed, and the
request-shape graph of a build that is never made."""

import json
import os
import pty
import stat
import subprocess
import sys
import threading
from xml.etree import ElementTree

import pydot
import pytest
import sqlalchemy as sa

from spawnflow import faultinject
from spawnflow import objects
from spawnflow.flows import build
from spawnflow.flows import changed
from spawnflow.flows import delete
from tests import conftest
from tests.functional.test_cli import Cli

BLANK = conftest.BLANK_VOLUME
SVG = '{http://www.w3.org/2000/svg}'


@pytest.fixture
def cli(capsys, config_file):
    runner = Cli(capsys, config_file)
    runner.ok('db', 'sync')
    return runner


@pytest.fixture
def image_id(cli, tmp_path):
    path = conftest.make_qcow2(tmp_path / 'cirros.qcow2')
    return cli.ok('image', 'create', 'cirros', '--file', path,
                  '--disk-format', 'qcow2', '-f', 'json').json()['id']


def _create(cli, image_id, *block_devices, name='inspected'):
    args = ['server', 'create', name, '--flavor', 'm1.tiny', '--image',
            image_id, '-f', 'json']
    for spec in block_devices:
        args += ['--block-device', spec]
    return cli(*args)


def _expected_atoms(image_id, volumes, action='create'):
    shape = [(0, 'image', 'local')] + [(i, 'blank', 'volume')
                                       for i in range(1, volumes + 1)]
    factory = build.get_build_flow if action == 'create' else \
        delete.get_delete_flow
    return list(changed.atom_names(factory('x', shape)))


def _dot_nodes(dot_text):
    """{node name: its attributes} of every node a DOT parser finds, in
    clusters too."""
    (graph,) = pydot.graph_from_dot_data(dot_text)
    nodes = {}

    def walk(graph):
        for node in graph.get_nodes():
            name = node.get_name().strip('"')
            if name not in ('node', 'edge', 'graph'):
                nodes[name] = {key: value.strip('"') for key, value in
                               node.get_attributes().items()}
        for subgraph in graph.get_subgraphs():
            walk(subgraph)
    walk(graph)
    return graph, nodes


def _svg_classes(svg_bytes):
    """{task name: set of classes} of the SVG's node groups."""
    root = ElementTree.fromstring(svg_bytes)
    classes = {}
    for group in root.iter(SVG + 'g'):
        names = set(group.get('class', '').split())
        if 'node' in names:
            classes[group.find(SVG + 'title').text] = names - {'node'}
    return root, classes


def test_a_built_server_with_two_volumes_as_a_table_and_a_graph(
        cli, image_id, tmp_path):
    server = _create(cli, image_id, BLANK, BLANK).json()
    assert server['status'] == 'ACTIVE'
    expected = _expected_atoms(image_id, volumes=2)

    rows = cli.ok('flow', 'show', server['id'], '-f', 'json').json()
    assert [row['Task'] for row in rows] == expected
    for row in rows:
        assert (row['State'], row['Intention'], row['Runs']) == (
            'SUCCESS', 'EXECUTE', 1), row
        assert row['Started'] and row['Duration'] >= 0, row
        assert row['Owner'].endswith(':%d' % os.getpid())
        assert row['Cause'] == row['Revert Result'] == ''
    by_task = {row['Task']: row for row in rows}
    assert len(by_task['create-volume-1']['Result']) == 36  # a volume id

    dot_text = cli.ok('flow', 'graph', server['id']).out
    graph, nodes = _dot_nodes(dot_text)
    assert sorted(nodes) == sorted(expected)  # exactly one node per atom
    assert {attrs['class'] for attrs in nodes.values()} == {'state-success'}
    assert all(' s' in attrs['label'] for attrs in nodes.values())
    # The two block devices are parallel branches of one cluster, each
    # entered from the task before and leading to the task after.
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"'))
             for e in _all_edges(graph)}
    for index in (1, 2):
        assert ('task-state-block-device-mapping',
                'create-volume-%d' % index) in edges
        assert ('attach-volume-%d' % index, 'task-state-spawning') in edges
    assert ('attach-volume-1', 'create-volume-2') not in edges
    assert ('attach-volume-2', 'create-volume-1') not in edges
    clusters = [s.get_name() for s in graph.get_subgraphs()]
    assert clusters == ['cluster_block_devices']

    svg_path, png_path = tmp_path / 'b.svg', tmp_path / 'b.png'
    cli.ok('flow', 'graph', server['id'], '--format', 'svg', '-o',
           str(svg_path))
    cli.ok('flow', 'graph', server['id'], '--format', 'png', '-o',
           str(png_path))
    _root, classes = _svg_classes(svg_path.read_bytes())
    assert sorted(classes) == sorted(expected)
    assert png_path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    umask = os.umask(0o022)
    os.umask(umask)
    assert png_path.stat().st_mode & 0o777 == 0o666 & ~umask


def _all_edges(graph):
    edges = list(graph.get_edges())
    for subgraph in graph.get_subgraphs():
        edges += _all_edges(subgraph)
    return edges


def test_a_build_failing_at_start_domain_shows_its_failure_and_reverts(
        cli, image_id, tmp_path, monkeypatch):
    monkeypatch.setenv(faultinject.FAIL_ENV, 'start-domain')
    result = _create(cli, image_id, BLANK)
    assert result.code == 1
    (server,) = cli.ok('server', 'list', '-f', 'json').json()
    expected = _expected_atoms(image_id, volumes=1)
    ran = expected[:expected.index('start-domain') + 1]

    svg_path = tmp_path / 'failed.svg'
    cli.ok('flow', 'graph', server['ID'], '--format', 'svg', '-o',
           str(svg_path))
    root, classes = _svg_classes(svg_path.read_bytes())
    assert sorted(classes) == sorted(expected)
    assert classes['start-domain'] == {'state-reverted', 'failed'}
    for name in ran[:-1]:
        assert classes[name] == {'state-reverted'}, name
    for name in ('wait-for-running', 'mark-active'):
        assert classes[name] == {'state-pending'}, name
    # The revert path: one dashed edge per step, from start-domain back
    # to mark-building.
    path = {group.find(SVG + 'title').text for group in root.iter(SVG + 'g')
            if 'revert-path' in group.get('class', '').split()}
    reverted = ran[::-1]
    assert path == {'%s->%s' % step for step in zip(reverted, reverted[1:])}

    rows = {row['Task']: row for row in cli.ok(
        'flow', 'show', server['ID'], '-f', 'json').json()}
    assert rows['start-domain']['Cause'] == \
        'failure injected at start-domain (SPAWNFLOW_FAIL_AT)'
    assert [name for name, _row in sorted(
        ((n, r) for n, r in rows.items() if r['Revert Order'] != ''),
        key=lambda item: item[1]['Revert Order'])] == ran[::-1]
    assert {rows[name]['Revert Result'] for name in ran} == {'Reverted'}
    assert rows['mark-active']['State'] == 'PENDING'
    assert rows['mark-active']['Runs'] == 0


def test_a_build_killed_mid_flow_then_resumed(cli, image_id, config_file):
    env = dict(os.environ, **{faultinject.CRASH_ENV:
                              'fetch-image:after-execute'})
    process = subprocess.Popen(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', 'crashed', '--flavor', 'm1.tiny',
         '--image', image_id], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err
    (server,) = cli.ok('server', 'list', '-f', 'json').json()
    expected = _expected_atoms(image_id, volumes=0)
    stopped = expected.index('fetch-image')

    rows = cli.ok('flow', 'show', server['ID'], '-f', 'json').json()
    assert [row['Task'] for row in rows] == expected
    assert [row['State'] for row in rows] == (
        ['SUCCESS'] * stopped + ['RUNNING']
        + ['PENDING'] * (len(expected) - stopped - 1))
    assert rows[stopped]['Duration'] is None  # its owner never finished
    killed_owner = rows[stopped]['Owner']
    assert killed_owner.endswith(':%d' % process.pid)
    all_rows = cli.ok('flow', 'show', server['ID'], '--action', 'all',
                      '-f', 'json').json()
    assert {row['Flow State'] for row in all_rows} == {'RUNNING'}

    cli.ok('resume')
    rows = cli.ok('flow', 'show', server['ID'], '-f', 'json').json()
    assert {row['State'] for row in rows} == {'SUCCESS'}
    assert [row['Runs'] for row in rows] == [
        2 if name == 'fetch-image' else 1 for name in expected]
    # The resumer ran fetch-image again, and what followed; the tasks
    # before it stay the killed process's.
    assert rows[stopped]['Owner'].endswith(':%d' % os.getpid())
    assert rows[stopped - 1]['Owner'] == killed_owner
    assert rows[-1]['Owner'] == rows[stopped]['Owner']

    _graph, nodes = _dot_nodes(cli.ok('flow', 'graph', server['ID']).out)
    assert 'ran 2 times' in nodes['fetch-image']['label']


def test_flow_show_all_after_a_delete(cli, image_id):
    server = _create(cli, image_id, BLANK).json()
    cli.ok('server', 'delete', server['id'])
    rows = cli.ok('flow', 'show', server['id'], '--action', 'all', '-f',
                  'json').json()
    assert [(row['Action'], row['Task']) for row in rows] == (
        [('create', name) for name in _expected_atoms(image_id, 1)]
        + [('delete', name) for name in _expected_atoms(image_id, 1,
                                                        'delete')])
    assert {(row['Flow State'], row['State']) for row in rows} == {
        ('SUCCESS', 'SUCCESS')}
    deletes = cli.ok('flow', 'show', server['id'], '--action', 'delete',
                     '-f', 'json').json()
    assert [row['Task'] for row in deletes] == _expected_atoms(image_id, 1,
                                                               'delete')


def test_graph_of_a_request_shape_builds_nothing(cli, image_id, tmp_path):
    dot_text = cli.ok('flow', 'graph', '--image', image_id,
                      '--block-device', BLANK, '--block-device',
                      BLANK.replace('size=1', 'size=2')).out
    _graph, nodes = _dot_nodes(dot_text)
    assert sorted(nodes) == sorted(_expected_atoms(image_id, volumes=2))
    assert {attrs['class'] for attrs in nodes.values()} == {'state-pending'}
    # A volume boot needs no image: no fetch-image then.
    _graph, nodes = _dot_nodes(cli.ok(
        'flow', 'graph', '--block-device',
        'source=blank,destination=volume,size=1,boot-index=0').out)
    assert 'fetch-image' not in nodes and 'create-volume-0' in nodes
    _graph, nodes = _dot_nodes(cli.ok(
        'flow', 'graph', '--action', 'delete', '--image', image_id).out)
    assert sorted(nodes) == sorted(_expected_atoms(image_id, 0, 'delete'))
    assert cli.ok('server', 'list', '-f', 'json').json() == []


@pytest.mark.parametrize('args, error', [
    ([], 'Give a server, or a request shape: --image and/or '
         '--block-device.'),
    (['--block-device', 'source=blank,destination=volume'],
     'A blank->volume block device needs size= in GiB.'),
    (['--block-device', 'source=blank'],
     'A block device needs source= (or source_type=) and destination= '
     '(or destination_type=).'),
    (['--image', '../etc/passwd'],
     "The image '../etc/passwd' is not an image UUID nor an http(s) URL."),
    (['00000000-0000-0000-0000-000000000000'],
     'Instance 00000000-0000-0000-0000-000000000000 could not be found.'),
    (['00000000-0000-0000-0000-000000000000', '--image',
      '00000000-0000-0000-0000-000000000000'],
     'Give a server, or a request shape (--image, --block-device), not '
     'both.'),
])
def test_graph_refuses_bad_input_with_one_error(cli, tmp_path, args, error):
    before = set(os.listdir(tmp_path))
    result = cli('flow', 'graph', *args, '-o', str(tmp_path / 'out.dot'))
    assert result.code == 1
    assert result.out == ''
    assert result.err.splitlines() == [error], result.err
    assert set(os.listdir(tmp_path)) == before


def _graph_process(config_file, image_id, *args, **kwargs):
    return subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'flow', 'graph', '--image', image_id, *args],
        timeout=60, **kwargs)


def test_png_goes_to_a_pipe_but_not_to_a_terminal(cli, image_id,
                                                  config_file):
    piped = _graph_process(config_file, image_id, '--format', 'png', '-o',
                           '-', capture_output=True)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout[:8] == b'\x89PNG\r\n\x1a\n'
    controller, terminal = pty.openpty()
    try:
        on_tty = _graph_process(config_file, image_id, '--format', 'png',
                                stdout=terminal, stderr=subprocess.PIPE,
                                text=True)
    finally:
        os.close(terminal)
        os.close(controller)
    assert on_tty.returncode == 1
    assert on_tty.stderr.splitlines() == [
        'PNG output goes to a file (-o FILE) or a pipe, not to a terminal.']


def test_graph_writes_into_a_fifo_and_through_a_symlink(cli, image_id,
                                                        tmp_path):
    """What is not a regular file is written into, not replaced."""
    target = tmp_path / 'target.dot'
    target.write_text('old')
    link = tmp_path / 'link.dot'
    link.symlink_to(target)
    cli.ok('flow', 'graph', '--image', image_id, '-o', str(link))
    assert link.is_symlink() and target.read_text().startswith('digraph')
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    read = []
    reader = threading.Thread(target=lambda: read.append(
        fifo.read_bytes()))
    reader.start()
    cli.ok('flow', 'graph', '--image', image_id, '-o', str(fifo))
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert read[0].startswith(b'digraph')


def test_a_factory_named_in_the_database_is_never_called(cli, image_id,
                                                         tmp_path):
    """A row that names other code than spawnflow's flow factories is
    shown as saved; its code does not run."""
    server = _create(cli, image_id).json()
    marker = tmp_path / 'ran'
    engine = sa.create_engine('sqlite:///%s' % (
        tmp_path / 'state' / 'spawnflow.sqlite'))
    with engine.begin() as conn:
        (meta,) = conn.execute(sa.text(
            'SELECT meta FROM flowdetails')).scalars()
        meta = json.loads(meta)
        meta['factory'] = {'name': 'os.system', 'args': [
            'touch %s' % marker], 'kwargs': {}}
        conn.execute(sa.text('UPDATE flowdetails SET meta = :meta'),
                     {'meta': json.dumps(meta)})
    engine.dispose()
    rows = cli.ok('flow', 'show', server['id'], '-f', 'json').json()
    assert sorted(row['Task'] for row in rows) == sorted(
        _expected_atoms(image_id, volumes=0))
    assert {row['State'] for row in rows} == {'SUCCESS'}
    cli.ok('flow', 'graph', server['id'])
    assert not marker.exists()


def test_a_revert_resumed_after_a_crash_counts_its_runs(cli, image_id,
                                                        config_file):
    env = dict(os.environ, **{faultinject.FAIL_ENV: 'start-domain',
                              faultinject.CRASH_ENV:
                              'define-domain:after-revert'})
    killed = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', 'reverting', '--flavor',
         'm1.tiny', '--image', image_id], env=env, capture_output=True,
        text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    (server,) = cli.ok('server', 'list', '-f', 'json').json()
    rows = {row['Task']: row for row in cli.ok(
        'flow', 'show', server['ID'], '-f', 'json').json()}
    assert rows['define-domain']['State'] == 'REVERTING'
    assert rows['define-domain']['Revert Duration'] is None

    cli.ok('resume')
    rows = {row['Task']: row for row in cli.ok(
        'flow', 'show', server['ID'], '-f', 'json').json()}
    assert rows['define-domain']['State'] == 'REVERTED'
    assert rows['define-domain']['Revert Runs'] == 2
    assert rows['start-domain']['Revert Runs'] == 1
    # Its duration is its last revert's, not the time since the first.
    assert 0 <= rows['define-domain']['Revert Duration'] < 5
    assert rows['mark-building']['Revert Order'] == len(
        [row for row in rows.values() if row['Revert Order'] != ''])


def test_flow_show_of_a_server_without_a_flow(cli, client):
    """A build killed before its flow was saved has no flow to show."""
    request = objects.BuildRequest('flowless', objects.Flavor.named(
        'm1.tiny'), image_ref='00000000-0000-0000-0000-000000000001')
    client.db.instance_create('00000000-0000-0000-0000-0000000000aa',
                              request, vm_state='building',
                              task_state='scheduling')
    for command in ('show', 'graph'):
        result = cli('flow', command, '00000000-0000-0000-0000-0000000000aa')
        assert (result.code, result.out, result.err.splitlines()) == (
            1, '', ['Server 00000000-0000-0000-0000-0000000000aa has no '
                    'create flow saved.'])


def test_graph_to_a_file_it_cannot_write(cli, image_id, tmp_path):
    result = cli('flow', 'graph', '--image', image_id, '-o',
                 str(tmp_path / 'missing' / 'g.dot'))
    assert result.code == 1
    assert result.err.startswith('Cannot write %s: ' % (
        tmp_path / 'missing' / 'g.dot'))
    assert not (tmp_path / 'missing').exists()


def test_flow_show_of_an_unknown_server(cli):
    result = cli('flow', 'show', 'nope')
    assert (result.code, result.out, result.err.splitlines()) == (
        1, '', ['Instance nope could not be found.'])


@pytest.mark.parametrize('database', ['postgresql', 'mariadb'])
def test_durations_keep_their_fractions(request, capsys, tmp_path,
                                        database):
    """Task times keep microseconds on every database (MySQL's DATETIME
    would keep whole seconds: migration 0005)."""
    config = conftest.write_config(
        tmp_path / 'db.conf', tmp_path / 'state',
        connection=request.getfixturevalue('%s_url' % database))
    cli = Cli(capsys, config)
    cli.ok('db', 'sync')
    image = cli.ok('image', 'create', 'cirros', '--file',
                   conftest.make_qcow2(tmp_path / 'c.qcow2'),
                   '--disk-format', 'qcow2', '-f', 'json').json()['id']
    server = _create(cli, image).json()
    rows = cli.ok('flow', 'show', server['id'], '-f', 'json').json()
    assert {row['State'] for row in rows} == {'SUCCESS'}
    assert any(row['Duration'] % 1 for row in rows), rows
