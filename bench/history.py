"""What reads cost as history grows.

For each history size N (10, and SPAWNFLOW_BENCH_HISTORY, by default
10,000), in its own state directory with the embedded defaults (a SQLite
file, libvirt test:///default, the local image and volume stores),
records N finished builds whose servers were deleted (a year of builds
is mostly deleted servers), each of its own image, 10 live ACTIVE ones of
one image, whose base is cached, and one unfinished build, as
bench/resume.py records them (without running them). Then times:

- resume: Engine.unfinished, what `spawnflow resume` reads;
- server list: the live instances;
- orphans list: Client.orphans;
- image-cache list: Client.image_cache_list;
- one build: a server booted from a blank volume (its delete untimed).

Each should cost what live work costs, not what history does: each case
at N is compared with itself at 10 (goal: within 2x), and notes the SQL
statements one call makes.

    .venv/bin/python bench/history.py [--rounds 5]
"""

import os
import subprocess
import sys
import time
import uuid as uuidlib

import taskflow.engines
from taskflow.persistence import models as tf_models
from taskflow import states

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.flows import build as build_flow
from spawnflow.flows import changed
from spawnflow import objects

import resume  # bench/resume.py (this script's directory is on sys.path)
import runner  # bench/runner.py

LIVE = 10
BLANK_VOLUME = ('source=blank,destination=volume,size=1,boot-index=0,'
                'delete-on-termination=true')


def _record_deleted(client, history):
    """``history`` builds as resume._record(finished=True) leaves them,
    their servers then deleted; twice as fast: the build flow is built
    once and each build's logbook saved once (its flow detail as
    Engine.create makes it)."""
    arguments = {'block_devices': [(0, 'image', 'local')]}
    names = list(changed.atom_names(build_flow.get_build_flow(
        None, **arguments)))
    flavor = objects.Flavor.named('m1.tiny')
    conn = client.engine.backend.get_connection()
    for _n in range(history):
        uuid = str(uuidlib.uuid4())
        client.db.instance_create(
            uuid, objects.BuildRequest('history', flavor,
                                       image_ref=str(uuidlib.uuid4())),
            vm_state='active', task_state=None)
        action_id = client.db.action_start(uuid, 'create',
                                           'req-%s' % uuidlib.uuid4())
        detail = tf_models.FlowDetail('build-%s' % uuid,
                                      uuid=str(uuidlib.uuid4()))
        taskflow.engines.save_factory_details(
            detail, build_flow.get_build_flow, (),
            dict(arguments, instance_uuid=uuid))
        detail.meta.update({'instance_uuid': uuid, 'action': 'create',
                            'action_id': action_id})
        client.db.flow_owner_create(detail.uuid, uuid, 'create',
                                    client.services.host)
        detail.state = states.SUCCESS
        for name in names:
            atom = tf_models.TaskDetail(name, str(uuidlib.uuid4()))
            atom.state = states.SUCCESS
            detail.add(atom)
        book = tf_models.LogBook('instance-%s' % uuid, uuid=uuid)
        book.add(detail)
        conn.save_logbook(book)
        client.db.instance_soft_delete(uuid)


def _record_history(client, history, workdir):
    """``history`` finished builds of deleted servers, LIVE finished ones
    of an image whose base is cached, and one unfinished."""
    _record_deleted(client, history)
    image = workdir / 'live.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(image),
                    '64M'], check=True)
    image_id = client.image_create('live', str(image), 'qcow2')['id']
    client.services.image_cache.fetch(image_id, 1024 ** 3)
    for _n in range(LIVE):
        resume._record(client, finished=True, image_ref=image_id)
    resume._record(client, finished=False)


def _cases(client):
    """(name, read, untimed teardown of what it returns or None)."""
    return [
        ('resume', client.engine.unfinished, None),
        ('server list', client.db.instance_list, None),
        ('orphans list', client.orphans, None),
        ('image-cache list', client.image_cache_list, None),
        ('one build', lambda: client.build('b', flavor='m1.tiny',
                                           block_devices=[BLANK_VOLUME]),
         lambda server: client.delete(server['uuid'])),
    ]


def _statements(client, read, teardown):
    """The SQL statements one call of ``read`` makes."""
    engines = {id(e): e for e in (client.db.engine,
                                  client.engine.backend.engine)}
    counters = [resume._Counter(e) for e in engines.values()]
    found = read()
    for counter in counters:
        counter.close()
    if teardown is not None:
        teardown(found)
    return sum(counter.count for counter in counters)


def _timed(read, teardown):
    def run():
        started = time.perf_counter()
        found = read()
        seconds = time.perf_counter() - started
        if teardown is not None:
            teardown(found)
        return seconds
    return run


def cases(setup):
    sizes = (10, int(os.environ.get('SPAWNFLOW_BENCH_HISTORY', 10000)))
    made = {}
    for history in sizes:
        top = setup.directory('history-%d' % history)
        config = top / 'spawnflow.conf'
        config.write_text('[DEFAULT]\nstate_path = %s\n' % top)
        client = setup.stack.enter_context(
            api.Client(conf=spawnflow_conf.load([str(config)])))
        client.db_sync()
        started = time.perf_counter()
        _record_history(client, history, top)
        print('history: recorded %d deleted + %d live + 1 unfinished builds '
              'in %.1f s' % (history, LIVE, time.perf_counter() - started),
              file=sys.stderr)
        for name, read, teardown in _cases(client):
            made.setdefault(name, []).append(runner.Case(
                'with N finished builds recorded', '%s, N=%d' % (
                    name, history),
                _timed(read, teardown), 's',
                baseline=None if history == sizes[0] else '%s, N=%d' % (
                    name, sizes[0]),
                goal=None if history == sizes[0] else ('<=', 2.0),
                note='%d SQL statements' % _statements(client, read,
                                                       teardown)))
    return [case for group in made.values() for case in group]


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
