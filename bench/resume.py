"""What finding unfinished work costs as history grows.

Records N finished builds (their flow details and atoms saved as a real
build leaves them, without running them) and one unfinished build, then
times, with SQL statements counted:

- unfinished: what `spawnflow resume`, a conductor and Client.resume()
  read now (Engine.unfinished: one query on the flow details' state, then
  the unfinished ones);
- every logbook: what resume read before (all logbooks with all their
  flow details and atoms, then filtered), the baseline;

for N = 10 and N = 2000 (--history), on a SQLite file.

    .venv/bin/python bench/resume.py [--history 10 2000]
"""

import argparse
import pathlib
import shutil
import tempfile
import time
import uuid as uuidlib

import sqlalchemy as sa
from taskflow.persistence import models as tf_models
from taskflow import states

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.flows import changed
from spawnflow.flows import build as build_flow
from spawnflow import objects


def _record(client, finished, image_ref=None):
    """A build recorded as it is admitted; ``finished``: as it ends. Its
    image is ``image_ref``, else an image no other build names."""
    uuid = str(uuidlib.uuid4())
    request = objects.BuildRequest('history', objects.Flavor.named('m1.tiny'),
                                   image_ref=image_ref or str(uuidlib.uuid4()))
    client.db.instance_create(uuid, request, vm_state='active',
                              task_state=None)
    arguments = {'instance_uuid': uuid,
                 'block_devices': [(0, 'image', 'local')]}
    detail = client.engine.create(uuid, 'create', build_flow.get_build_flow,
                                  arguments)
    if finished:
        detail.state = states.SUCCESS
        for name in changed.atom_names(build_flow.get_build_flow(
                **arguments)):
            atom = tf_models.TaskDetail(name, str(uuidlib.uuid4()))
            atom.state = states.SUCCESS
            atom.results = None
            detail.add(atom)
        book = client.engine.backend.get_connection().get_logbook(uuid)
        book.add(detail)
        client.engine.backend.get_connection().save_logbook(book)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--history', type=int, nargs='+', default=[10, 2000])
    args = parser.parse_args()
    print('%8s %-14s %6s %10s %11s' % ('history', 'reads', 'found',
                                       'seconds', 'statements'))
    for history in args.history:
        workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-'))
        try:
            config = workdir / 'spawnflow.conf'
            config.write_text('[DEFAULT]\nstate_path = %s\n' % workdir)
            with api.Client(conf=spawnflow_conf.load([str(config)])) as c:
                c.db_sync()
                for _n in range(history):
                    _record(c, finished=True)
                _record(c, finished=False)
                engine = c.engine
                for name, read in (
                        ('unfinished', engine.unfinished),
                        ('every logbook', lambda: [
                            d for d in engine.flow_details()
                            if d.state not in (states.SUCCESS,
                                               states.REVERTED)])):
                    counter = _Counter(c.db.engine)
                    started = time.perf_counter()
                    found = read()
                    seconds = time.perf_counter() - started
                    counter.close()
                    print('%8d %-14s %6d %10.3f %11d' % (
                        history, name, len(found), seconds, counter.count))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


class _Counter:
    """SQL statements an engine executes while it is open."""

    def __init__(self, engine):
        self.count = 0
        self._engine = engine
        sa.event.listen(engine, 'before_cursor_execute', self._seen)

    def _seen(self, *args):
        self.count += 1

    def close(self):
        sa.event.remove(self._engine, 'before_cursor_execute', self._seen)


if __name__ == '__main__':
    main()
