"""Serial builds per second of whichever spawnflow this interpreter
imports: bench/builds.py runs it with PYTHONPATH set to an older tree of
spawnflow, to measure the code of before a change in the same rounds as
the code of now.

    python bench/build_rate.py CONFIG_FILE BUILDS

The builds are those of bench/builds.py (the test driver, the local
stores, a blank volume to boot from), after four untimed ones; all are
deleted after. Prints the rate.
"""

import sys
import time

from spawnflow import api
from spawnflow import conf as spawnflow_conf

BOOT_FROM_VOLUME = ('source=blank,destination=volume,size=1,boot-index=0,'
                    'delete-on-termination=true')
WARM_UP = 4


def main(config_file, builds):
    client = api.Client(conf=spawnflow_conf.load([config_file]))
    client.db_sync()
    uuids = []

    def build(number):
        server = client.build('bench-%d' % number, flavor='m1.tiny',
                              block_devices=[BOOT_FROM_VOLUME])
        assert server['vm_state'] == 'active', server['fault']
        uuids.append(server['uuid'])
    for number in range(WARM_UP):
        build(number)
    started = time.perf_counter()
    for number in range(builds):
        build(WARM_UP + number)
    rate = builds / (time.perf_counter() - started)
    for uuid in uuids:
        client.delete(uuid)
    client.close()
    print(rate)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
