"""Conductors as real processes on Redis, qemu:///system and PostgreSQL,
then MariaDB: a paused conductor loses its jobs and touches them no more;
SIGTERM hands running builds over to another conductor."""

import datetime
import signal

import pytest

from tests.crash import checks
from tests.crash import conductors
from tests.fixtures import openstack as osf

CLAIM_EXPIRY = 4


@pytest.fixture(params=['postgresql', 'mariadb'])
def setup(request):
    with conductors.board_setup(request, CLAIM_EXPIRY, max_jobs=2) as setup:
        yield setup


def _snapshot(client, servers):
    """Every action event and atom state of the servers' builds."""
    snapshot = {}
    for server in servers:
        uuid = server['uuid']
        atoms = sorted((atom.name, atom.state) for detail in
                       client.engine.backend.get_connection()
                       .get_logbook(uuid) for atom in detail)
        snapshot[uuid] = (conductors.executions(client, uuid), atoms)
    return snapshot


def test_a_paused_conductor_loses_its_jobs_and_touches_them_no_more(setup):
    paused = setup.start('paused')
    with setup.client() as client:
        servers = setup.post_builds(client, 8)
        held = osf.wait_for(lambda: conductors.owned_by(client, 'paused'),
                            timeout=120, what='the conductor to claim')
        paused.signal(signal.SIGSTOP)
        held = {job['instance_uuid'] for job in
                conductors.owned_by(client, 'paused')}
        assert held
        setup.start('taker')
        osf.wait_for(lambda: conductors.settled(client, servers),
                     timeout=600, what='every build to end')
        taken = [s for s in servers if s['uuid'] in held]
        before = _snapshot(client, taken)
        continued = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)
        paused.signal(signal.SIGCONT)
        # Back, it finds out (a save refused, or the keep-alive seeing
        # another owner) and gives up each job it held.
        osf.wait_for(lambda: paused.count('spawnflow_jobs_lost_total')
                     == len(held), timeout=120,
                     what='the paused conductor to give up its jobs')
        assert _snapshot(client, taken) == before
        for server in servers:
            assert not [e for e in conductors.executions(client,
                                                         server['uuid'])
                        if e[1] == 'paused' and e[2] >= continued]
            checks.assert_active(client, client.show(server['uuid']), [1])
        assert client.orphans() == []
        assert client.jobs() == []
        assert paused.process.poll() is None  # alive, and claiming again
        (late,) = setup.post_builds(client, 1, prefix='late')
        assert client.wait(late['uuid'])['vm_state'] == 'active'


def test_sigterm_hands_running_builds_to_another_conductor(setup):
    leaving = setup.start('leaving')
    with setup.client() as client:
        servers = setup.post_builds(client, 6)
        osf.wait_for(lambda: [
            job for job in conductors.owned_by(client, 'leaving')
            if conductors.executions(client, job['instance_uuid'])],
            timeout=120, what='a build under way on the conductor')
        leaving.signal(signal.SIGTERM)
        assert leaving.process.wait(timeout=120) == 0, osf.tail(leaving.log)
        # Handed over: begun by it (its claim on the flow, which it may
        # have taken just before it stopped, with no task run yet), and
        # given back unfinished.
        handed = {job['instance_uuid'] for job in client.jobs()
                  if job['owner'] is None and [
                      owner for owner in client.db.flow_owner_list(
                          job['instance_uuid'])
                      if owner['owner'] == 'leaving']}
        taker = setup.start('taker')
        osf.wait_for(lambda: conductors.settled(client, servers),
                     timeout=600, what='every build to end')
        assert handed, 'no build was left unfinished by SIGTERM'
        for server in servers:
            uuid = server['uuid']
            checks.assert_active(client, client.show(uuid), [1])
            tasks = [task for task, _o, _t in
                     conductors.executions(client, uuid)]
            # The running tasks finished before it left: none ran twice.
            assert len(tasks) == len(set(tasks)), tasks
            owners = {owner for _t, owner, _s in
                      conductors.executions(client, uuid)}
            if uuid in handed:
                assert 'taker' in owners and owners <= {'leaving', 'taker'}
        assert taker.count('spawnflow_jobs_taken_over_total') == len(handed)
        assert client.orphans() == []
