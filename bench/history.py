"""What reads cost as history grows (issue 12).

For each history size N (--history), in a fresh state directory with the
embedded defaults (a SQLite file, libvirt test:///default, the local image
and volume stores), records N finished builds whose servers were deleted
(a year of builds is mostly deleted servers), 10 live ACTIVE ones and one
unfinished build, as bench/resume.py records them (without running them).
Then times, with SQL statements counted, round by round:

- resume: Engine.unfinished, what `spawnflow resume` reads;
- server list: the live instances;
- orphans list: Client.orphans;
- image-cache list: Client.image_cache_list;
- one build: a server booted from a blank volume (its delete untimed).

Each should cost what live work costs, not what history does: the table
gives the median seconds and statements per N, and the ratio of seconds
(largest N against the smallest).

    .venv/bin/python bench/history.py [--history 10 10000] [--rounds 3]
"""

import argparse
import pathlib
import shutil
import statistics
import tempfile
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


def _record_history(client, history):
    """``history`` finished builds of deleted servers, LIVE finished ones
    and one unfinished."""
    _record_deleted(client, history)
    for _n in range(LIVE):
        resume._record(client, finished=True)
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


def _measure(client, rounds):
    """{case: (median seconds, statements of each round)}."""
    engines = {id(e): e for e in (client.db.engine,
                                  client.engine.backend.engine)}
    seconds, statements = {}, {}
    for _round in range(rounds):
        for name, read, teardown in _cases(client):
            counters = [resume._Counter(e) for e in engines.values()]
            started = time.perf_counter()
            found = read()
            seconds.setdefault(name, []).append(time.perf_counter() - started)
            for counter in counters:
                counter.close()
            statements.setdefault(name, []).append(
                sum(counter.count for counter in counters))
            if teardown is not None:
                teardown(found)
    return {name: (statistics.median(seconds[name]), statements[name])
            for name in seconds}


def _run(history, rounds):
    """Record ``history`` in a fresh state directory and measure it;
    returns (seconds recording took, _measure's result)."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-'))
    try:
        config = workdir / 'spawnflow.conf'
        config.write_text('[DEFAULT]\nstate_path = %s\n' % workdir)
        with api.Client(conf=spawnflow_conf.load([str(config)])) as client:
            client.db_sync()
            started = time.perf_counter()
            _record_history(client, history)
            recorded = time.perf_counter() - started
            return recorded, _measure(client, rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _statements(counts):
    """One count, or the range when rounds differ."""
    low, high = min(counts), max(counts)
    return str(low) if low == high else '%d-%d' % (low, high)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--history', type=int, nargs='+',
                        default=[10, 10000])
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    results = {}
    for history in args.history:
        recorded, results[history] = _run(history, args.rounds)
        print('recorded %d deleted + %d live + 1 unfinished builds in '
              '%.1f s' % (history, LIVE, recorded))
    smallest, largest = min(args.history), max(args.history)
    header = '%-17s' % 'case'
    for history in args.history:
        header += ' %10s %10s' % ('N=%d s' % history, 'statements')
    print(header + ' %7s' % 'ratio')
    for name in results[smallest]:
        line = '%-17s' % name
        for history in args.history:
            seconds, counts = results[history][name]
            line += ' %10.4f %10s' % (seconds, _statements(counts))
        print(line + ' %7.1f' % (results[largest][name][0]
                                 / results[smallest][name][0]))


if __name__ == '__main__':
    main()
