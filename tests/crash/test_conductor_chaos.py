"""Chaos: 60 builds posted to a real Redis job board, run by three
conductor processes on qemu:///system and a real PostgreSQL (or MariaDB),
while one conductor is killed with SIGKILL every few seconds and started
again. Every build ends ACTIVE with exactly what it asked for, no task's
side effect is doubled, nothing is orphaned; the time from each kill to
the takeover of the killed conductor's jobs is printed.

Replay a run with ``SPAWNFLOW_CHAOS_SEED=<seed>``.
"""

import collections
import datetime
import os
import random
import signal
import time

import pytest

from tests.crash import checks
from tests.crash import conductors
from tests.fixtures import openstack as osf

BUILDS = 60
CONDUCTORS = 3
CLAIM_EXPIRY = 5
#: Seconds a takeover may take at most: the claim's expiry, then the
#: time the busy survivors take to see it and claim.
TAKEOVER_TIMEOUT = CLAIM_EXPIRY * 6
#: Seconds between the takeover after one kill and the next kill.
KILL_INTERVAL = 3.0


@pytest.fixture(params=['postgresql', 'mariadb'])
def setup(request):
    with conductors.board_setup(request, CLAIM_EXPIRY, max_jobs=2) as setup:
        yield setup


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _wait_for_takeover(client, victim, held, started):
    """Seconds from the kill until every job the victim held has another
    owner (or is done)."""
    def taken_over():
        owners = {job['uuid']: job['owner'] for job in client.jobs()}
        return all(uuid not in owners or owners[uuid] not in (victim, None)
                   for uuid in held)
    osf.wait_for(taken_over, timeout=TAKEOVER_TIMEOUT, first_delay=0.02,
                 max_delay=0.1, what='the jobs of %s to be taken over'
                 % victim)
    return time.monotonic() - started


def test_chaos_kills_conductors_and_every_build_ends_active(setup, capsys):
    seed = int(os.environ.get('SPAWNFLOW_CHAOS_SEED', time.time()))
    rng = random.Random(seed)
    generation = collections.Counter()

    def start(slot):
        generation[slot] += 1
        return setup.start('c%d.%d' % (slot, generation[slot]))

    running = {slot: start(slot) for slot in range(CONDUCTORS)}
    killed = {}  # owner name -> when it was killed
    kills = []
    with setup.client() as client:
        servers = setup.post_builds(client, BUILDS, prefix='chaos')

        def busy():
            return [slot for slot, c in running.items()
                    if conductors.owned_by(client, c.name)]

        while True:
            found = osf.wait_for(
                lambda: conductors.settled(client, servers) or busy(),
                timeout=120, what='a conductor holding a job')
            if found is True:
                break
            slot = rng.choice(found)
            victim = running[slot]
            held = [job['uuid'] for job in
                    conductors.owned_by(client, victim.name)]
            victim.signal(signal.SIGKILL)
            started = time.monotonic()
            killed[victim.name] = _now()
            victim.process.wait(timeout=30)
            running[slot] = start(slot)
            kills.append((victim.name, len(held),
                          _wait_for_takeover(client, victim.name, held,
                                             started)))
            deadline = time.monotonic() + KILL_INTERVAL
            osf.wait_for(lambda: conductors.settled(client, servers)
                         or time.monotonic() >= deadline, timeout=60,
                         what='the next kill')
        with capsys.disabled():  # shown in every run, passed or not
            print('\nchaos seed %d, database %s: %d kills'
                  % (seed, client.db.engine.dialect.name, len(kills)))
            print('%-8s %5s %12s   (goal: claim expiry %d s + 2 s)'
                  % ('killed', 'jobs', 'takeover s', CLAIM_EXPIRY))
            for name, jobs, seconds in kills:
                print('%-8s %5d %12.2f' % (name, jobs, seconds))
        assert kills, 'no conductor was killed while it held a job'
        for server in servers:
            uuid = server['uuid']
            checks.assert_active(client, client.show(uuid), [1])
            executions = collections.defaultdict(list)
            for task, owner, start_time in conductors.executions(client,
                                                                 uuid):
                executions[task].append((owner, start_time))
            for task, runs in executions.items():
                # Re-executed only after its owner died, by another.
                for (owner, _start), (after, start) in zip(runs, runs[1:]):
                    assert owner in killed, (uuid, task, runs)
                    assert after != owner and start >= killed[owner], (
                        uuid, task, runs)
        assert client.orphans() == []
        assert client.jobs() == []
        # How fast the takeovers were is printed, not asserted (a timed
        # test fails with the machine's load: on two cores that also run
        # the 60 guests, the worst has been seen from expiry + 2 s to
        # expiry + 6 s, with the same code). A takeover that waits for
        # anything else than the claim's expiry (a lock, a full
        # conductor) fails _wait_for_takeover's TAKEOVER_TIMEOUT.
