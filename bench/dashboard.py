"""How fast the dashboard answers, against the database reads beneath it.

Records N builds (1,000 by default) on a SQLite file, serves the
dashboard on a loopback port, and times, over real HTTP requests:

- the list page (/), and its fragment the open page polls (/servers);
- the page of one real build with two volumes (run through the flow on
  libvirt's test driver), first and then once its diagram is cached;

each against a baseline timed in this same process: the database read
the page is made from (Reader.instances(), Reader.flows()). The ratio is
what rendering and HTTP add. The goal: the list of 1,000 builds in
under a second.

    .venv/bin/python bench/dashboard.py [--builds 1000] [--repeat 20]
"""

import argparse
import logging
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid as uuidlib

import requests

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import dashboard
from spawnflow import diagram
from spawnflow import inspection
from spawnflow import objects

BLANK = 'source=blank,destination=volume,size=1,delete-on-termination=true'


def _timed(function, repeat):
    """Median and worst seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def _get(session, url):
    answer = session.get(url, timeout=30)
    answer.raise_for_status()
    return answer.content


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--builds', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=20)
    args = parser.parse_args()
    logging.getLogger('werkzeug').setLevel(logging.WARNING)  # per request
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-'))
    try:
        config = workdir / 'spawnflow.conf'
        config.write_text('[DEFAULT]\nstate_path = %s\n' % (workdir / 's'))
        conf = spawnflow_conf.load([str(config)])
        with api.Client(conf=conf) as client:
            client.db_sync()
            image_path = workdir / 'i.qcow2'
            subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                            str(image_path), '64M'], check=True)
            image = client.image_create('bench', str(image_path), 'qcow2')
            built = client.build('two-volumes', flavor='m1.tiny',
                                 image=image['id'],
                                 block_devices=[BLANK, BLANK])
            request = objects.BuildRequest(
                'listed', objects.Flavor.named('m1.tiny'),
                image_ref=image['id'])
            for index in range(args.builds - 1):
                client.db.instance_create(
                    str(uuidlib.uuid4()), request,
                    vm_state='active' if index % 3 else 'building',
                    task_state=None if index % 3 else 'spawning')
        reader = inspection.Reader(conf)
        server = dashboard.serve(reader, conf, '127.0.0.1', 0)
        session = requests.Session()
        try:
            listed = _get(session, server.url).count(b'<tr data-status=')
            assert listed == args.builds, listed
            rows = [
                ('list page, %d builds' % args.builds,
                 lambda: _get(session, server.url),
                 reader.instances),
                ('list fragment (polled)',
                 lambda: _get(session, server.url + 'servers'),
                 reader.instances),
            ]
            page = server.url + 'servers/%s' % built['uuid']
            flows = lambda: reader.flows(built['uuid'])  # noqa: E731
            diagram._svg.cache_clear()
            start = time.perf_counter()
            _get(session, page)
            first = time.perf_counter() - start
            rows.append(('build page, 2 volumes, cached diagram',
                         lambda: _get(session, page), flows))
            print('%-40s %10s %10s %12s %8s' % (
                'request', 'median', 'worst', 'db baseline', 'ratio'))
            for name, request_page, baseline in rows:
                median, worst = _timed(request_page, args.repeat)
                base, _worst = _timed(baseline, args.repeat)
                print('%-40s %8.1fms %8.1fms %10.1fms %7.1fx' % (
                    name, median * 1000, worst * 1000, base * 1000,
                    median / base))
            print('%-40s %8.1fms' % ('build page, first (diagram drawn)',
                                     first * 1000))
            median, worst = _timed(lambda: _get(session, server.url),
                                   args.repeat)
            print('goal: the list of %d builds in under 1 s: %s (worst '
                  '%.0f ms)' % (args.builds, 'met' if worst < 1 else
                                'NOT met', worst * 1000))
        finally:
            server.shutdown()
            reader.close()
    finally:
        shutil.rmtree(workdir)


if __name__ == '__main__':
    main()
