"""One live owner per build without a job board: a build running in one
process (held mid-download by the test's image server) is left alone by
`spawnflow resume` and Client.resume() in other processes, which say it
is owned; once its owner is killed, the next resume finishes it."""

import signal
import subprocess
import sys

import pytest

from taskflow import states

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import recovery
from tests.fixtures import openstack as osf
from tests.functional.test_interrupt import _start_build
from tests.functional.test_interrupt import image_server  # noqa: F401
from tests.functional.test_interrupt import synced  # noqa: F401


def _executed(client, uuid):
    (action,) = client.actions(uuid)
    return [(e['event'], e['host'], e['finish_time'] is not None)
            for e in action['events']]


def test_resume_leaves_a_live_build_to_its_owner(synced,  # noqa: F811
                                                 image_server):  # noqa: F811
    config_file = synced
    build = _start_build(config_file, image_server.url('disk.qcow2'))
    try:
        osf.wait_for(lambda: image_server.downloads, timeout=120,
                     what='the build to start downloading',
                     alive=lambda: build.poll() is None or pytest.fail(
                         build.communicate()[1]))
        with api.Client(conf=spawnflow_conf.load([config_file])) as client:
            (instance,) = client.db.instance_list()
            uuid = instance['uuid']
            owner = client.db.flow_owner_list(uuid)[0]['owner']
            assert owner.endswith(':%d' % build.pid)
            before = _executed(client, uuid)

            resume = subprocess.run(
                [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
                 config_file, 'resume', '-f', 'value'],
                capture_output=True, text=True, timeout=120)
            assert resume.returncode == 0, resume.stderr
            assert resume.stdout.split() == [
                uuid, 'create', recovery.IN_PROGRESS.split()[0],
                recovery.IN_PROGRESS.split()[1], 'BUILD', owner]
            assert client.resume() == [(uuid, 'create',
                                        recovery.IN_PROGRESS)]
            # Left alone: nothing ran again, its owner is the same.
            assert _executed(client, uuid) == before
            assert client.db.flow_owner_list(uuid)[0]['owner'] == owner
            tasks = [task for task, _o, _f in before]
            assert len(tasks) == len(set(tasks)) and \
                tasks[-1] == 'fetch-image'

            build.send_signal(signal.SIGKILL)
            build.wait(timeout=30)
            image_server.hold.set()
            assert client.resume() == [(uuid, 'create', states.SUCCESS)]
            assert client.show(uuid)['vm_state'] == 'active'
            after = _executed(client, uuid)
        tasks = [task for task, _o, _f in after]
        # fetch-image ran again, because its owner died in it; nothing
        # else twice.
        assert tasks.count('fetch-image') == 2
        assert ('fetch-image', owner, False) in after
        rest = [t for t in tasks if t != 'fetch-image']
        assert len(rest) == len(set(rest)) and 'mark-active' in rest
    finally:
        image_server.hold.set()
        if build.poll() is None:
            build.kill()
            build.wait()
