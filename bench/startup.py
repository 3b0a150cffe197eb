"""What a command costs before it does anything: the wall time of
``spawnflow --help``, ``spawnflow server list`` (the embedded default,
10 servers recorded) and ``spawnflow image list`` (which loads the
drivers and the engine, as a build does), against ``python -c pass``,
each a fresh process, interleaved round by round.

    .venv/bin/python bench/startup.py [--rounds 10]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from spawnflow import api

SPAWNFLOW = os.path.join(os.path.dirname(sys.executable), 'spawnflow')


def _seed(config):
    with api.Client(config_files=[config]) as client:
        client.db_sync()
        for number in range(10):
            client.build('bench-%d' % number, vcpus=1, ram=64, disk=1,
                         block_devices=['source=blank,destination=volume,'
                                        'size=1,boot-index=0'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='spawnflow-bench-') as top:
        config = os.path.join(top, 'spawnflow.conf')
        with open(config, 'w') as conf:
            conf.write('[DEFAULT]\nstate_path = %s\n' % os.path.join(
                top, 'state'))
        _seed(config)
        cases = {
            'python -c pass': [sys.executable, '-c', 'pass'],
            'spawnflow --help': [SPAWNFLOW, '--help'],
            'spawnflow server list': [SPAWNFLOW, '--config-file', config,
                                      'server', 'list'],
            'spawnflow image list': [SPAWNFLOW, '--config-file', config,
                                     'image', 'list'],
        }
        times = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, argv in cases.items():
                started = time.perf_counter()
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - started)
    baseline = statistics.median(times['python -c pass'])
    print('%-24s %10s %10s' % ('command (median of %d)' % args.rounds,
                               'wall s', 'x pass'))
    for name, samples in times.items():
        median = statistics.median(samples)
        print('%-24s %10.3f %10.1f' % (name, median, median / baseline))


if __name__ == '__main__':
    main()
