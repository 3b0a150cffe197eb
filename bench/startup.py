"""What a command costs before it does anything: the wall time of
``spawnflow --help``, ``spawnflow server list`` (the embedded default,
10 servers recorded) and ``spawnflow image list`` (which loads the
drivers and the engine, as a build does), against ``python -c pass``,
each a fresh process.

    .venv/bin/python bench/startup.py [--rounds 5]
"""

import os
import subprocess
import sys
import time

from spawnflow import api

import runner  # bench/runner.py

GROUP = 'CLI wall time, a fresh process (embedded default, 10 servers)'
SPAWNFLOW = os.path.join(os.path.dirname(sys.executable), 'spawnflow')
#: Each sample: the median of this many runs.
RUNS = 3


def _seed(config):
    with api.Client(config_files=[config]) as client:
        client.db_sync()
        for number in range(10):
            client.build('bench-%d' % number, vcpus=1, ram=64, disk=1,
                         block_devices=['source=blank,destination=volume,'
                                        'size=1,boot-index=0'])


def _wall(argv):
    def run():
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        return sorted(times)[RUNS // 2]
    return run


def cases(setup):
    top = setup.directory('startup')
    config = str(top / 'spawnflow.conf')
    with open(config, 'w') as conf:
        conf.write('[DEFAULT]\nstate_path = %s\n' % (top / 'state'))
    _seed(config)
    base = 'python -c pass'
    listing = ['--config-file', config]
    return [
        runner.Case(GROUP, base, _wall([sys.executable, '-c', 'pass']), 's'),
        runner.Case(GROUP, 'spawnflow --help', _wall([SPAWNFLOW, '--help']),
                    's', baseline=base, goal=('<=', 0.5), absolute=True),
        runner.Case(GROUP, 'spawnflow server list',
                    _wall([SPAWNFLOW] + listing + ['server', 'list']), 's',
                    baseline=base, goal=('<=', 0.5), absolute=True),
        runner.Case(GROUP, 'spawnflow image list',
                    _wall([SPAWNFLOW] + listing + ['image', 'list']), 's',
                    baseline=base),
    ]


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
