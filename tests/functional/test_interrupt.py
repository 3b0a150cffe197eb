"""Ctrl-C during a build: the flow stops at the next task boundary (the
running download finishes), the command says the instance is left for
``spawnflow resume`` and exits 130; a second Ctrl-C stops at once, as a
crash would. Either way ``resume`` finishes the build.

The download is held open by the test's own HTTP server, so SIGINT
arrives while fetch-image is running.
"""

import os
import signal
import subprocess
import sys
import threading

import pytest
from taskflow import states

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests.fixtures import openstack as osf
from tests.functional.test_http_image import ImageServer


@pytest.fixture
def image_server(tmp_path):
    www = tmp_path / 'www'
    www.mkdir()
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                    str(www / 'disk.qcow2'), '64M'], check=True)
    server = ImageServer(www)
    server.hold = threading.Event()
    yield server
    server.close()


def _start_build(config_file, url):
    return subprocess.Popen(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', '--flavor', 'm1.tiny', '--image',
         url, 'interrupted', '-f', 'json'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _interrupt_during_download(config_file, image_server, times):
    process = _start_build(config_file, image_server.url('disk.qcow2'))
    try:
        return _interrupt(process, image_server, times)
    finally:
        if process.poll() is None:  # a failed test leaves no process
            process.kill()
            process.wait()


def _interrupt(process, image_server, times):
    osf.wait_for(lambda: image_server.downloads, timeout=120,
                 what='the build to start downloading',
                 alive=lambda: process.poll() is None or pytest.fail(
                     process.communicate()[1]))
    process.send_signal(signal.SIGINT)
    # (Signals are not queued: a second one is sent once the first has
    # been seen.)
    osf.wait_for(lambda: 'Interrupted: stopping' in _peek(process),
                 timeout=60, what='the interruption to be noticed')
    if times > 1:
        # Stopped at once: it does not wait for the download.
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        image_server.hold.set()
    else:
        # Stopping after the running task: the download finishes first.
        image_server.hold.set()
        out, err = process.communicate(timeout=120)
    return process.returncode, out, process.peeked + err


def _peek(process):
    """What the process wrote to stderr so far (without waiting)."""
    os.set_blocking(process.stderr.fileno(), False)
    chunk = process.stderr.read() or ''
    process.peeked = getattr(process, 'peeked', '') + chunk
    return process.peeked


def _one_instance(config_file):
    with api.Client(conf=spawnflow_conf.load([config_file])) as client:
        (instance,) = client.db.instance_list()
        flows = [d.state for d in client.engine.backend.get_connection()
                 .get_logbook(instance['uuid'])]
        return instance, flows


def _resume_and_check(config_file, image_server, downloads):
    """Resume finishes the build; the image was downloaded ``downloads``
    times (twice when the download was cut short)."""
    with api.Client(conf=spawnflow_conf.load([config_file])) as client:
        (instance,) = client.db.instance_list()
        assert client.resume() == [(instance['uuid'], 'create',
                                    states.SUCCESS)]
        assert client.show(instance['uuid'])['vm_state'] == 'active'
        (action,) = client.actions(instance['uuid'])
        executed = [e['event'] for e in action['events']]
        assert executed.count('mark-active') == 1
    assert len(image_server.downloads) == downloads


@pytest.fixture
def synced(config_file):
    with api.Client(conf=spawnflow_conf.load([config_file])) as client:
        client.db_sync()
    return config_file


def test_ctrl_c_stops_at_the_next_task_boundary(synced, image_server):
    config_file = synced
    code, out, err = _interrupt_during_download(config_file, image_server,
                                                times=1)

    instance, flows = _one_instance(config_file)
    assert code == 130
    assert out == ''
    assert 'Traceback' not in err
    assert err.splitlines()[-1] == (
        'Interrupted: server %s is left BUILD; `spawnflow resume` finishes '
        'the build, `spawnflow server delete %s` removes it.'
        % (instance['uuid'], instance['uuid']))
    assert (instance['vm_state'], instance['task_state']) == (
        'building', 'spawning')
    assert flows == [states.SUSPENDED]
    _resume_and_check(config_file, image_server, downloads=1)


def test_second_ctrl_c_stops_at_once(synced, image_server):
    config_file = synced
    code, out, err = _interrupt_during_download(config_file, image_server,
                                                times=2)

    instance, flows = _one_instance(config_file)
    assert code == 130
    assert out == ''
    assert err.splitlines()[-1] == ('Stopped at once; `spawnflow resume` '
                                    'finishes the interrupted flows.')
    assert instance['vm_state'] == 'building'
    assert flows == [states.SUSPENDING]  # as it was when it stopped
    _resume_and_check(config_file, image_server, downloads=2)


def test_ctrl_c_during_resume(synced, image_server):
    """A build killed before its download, resumed by `spawnflow resume`,
    which Ctrl-C interrupts during the download: exit 130, left again
    for resume, which then finishes it."""
    config_file = synced
    url = image_server.url('disk.qcow2')
    killed = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', '--flavor', 'm1.tiny', '--image',
         url, 'interrupted'],
        env=dict(os.environ, SPAWNFLOW_CRASH_AT='fetch-image:before-execute'),
        capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    instance, _flows = _one_instance(config_file)

    process = subprocess.Popen(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'resume'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    osf.wait_for(lambda: image_server.downloads, timeout=120,
                 what='resume to start downloading')
    process.send_signal(signal.SIGINT)
    osf.wait_for(lambda: 'Interrupted: stopping' in _peek(process),
                 timeout=60, what='the interruption to be noticed')
    image_server.hold.set()
    out, err = process.communicate(timeout=120)

    assert process.returncode == 130
    assert out == ''
    assert (process.peeked + err).splitlines()[-1] == (
        'Interrupted: %s left for `spawnflow resume`.' % instance['uuid'])
    _resume_and_check(config_file, image_server, downloads=1)


def test_ctrl_c_before_any_flow_interrupts_at_once(synced, tmp_path):
    """Ctrl-C while the command waits on a server that does not answer
    (here the image probe, before anything is recorded) interrupts the
    wait, as Ctrl-C always does, rather than after its timeout."""
    www = tmp_path / 'hang'
    www.mkdir()
    server = ImageServer(www)
    try:
        process = subprocess.Popen(
            [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
             synced, 'server', 'create', '--flavor', 'm1.tiny', '--image',
             server.url('hang', 'a' * 64), 'hung'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        osf.wait_for(lambda: server.requests, timeout=60,
                     what='the probe to reach the server')
        process.send_signal(signal.SIGINT)
        # Well within [http_image] timeout (60 s) and the server's hold.
        out, err = process.communicate(timeout=20)
    finally:
        server.close()
    assert process.returncode == 130
    assert 'Traceback' not in err
    with api.Client(conf=spawnflow_conf.load([synced])) as client:
        assert client.db.instance_list(read_deleted=True) == []
