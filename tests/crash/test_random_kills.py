"""Kill builds with SIGKILL at random moments, resume them, check the end.

Each run starts ``spawnflow server create`` (an image-backed root disk and a
blank volume) in a subprocess and kills it after a random delay, drawn
uniformly from the window in which a build runs here: from its instance
being recorded to its flow's end (measured once per module, from the
database's timestamps). Every other run is made to fail at start-domain,
so kills also land in the middle of reverts. This process then resumes, as
a new conductor would, and checks the same end states as the crash matrix.

The seed is in every test id; replay a run with
``SPAWNFLOW_RANDOM_KILL_SEED=<seed> pytest 'tests/crash/test_random_kills.py
::test_random_kill[seed<seed>-run<n>]'``.
"""

import os
import random
import subprocess

import pytest
from taskflow import storage

from spawnflow import faultinject
from spawnflow.persistence import models
from tests.crash import checks
from tests.crash import conftest as crash

RUNS = 30
SEED = int(os.environ.get('SPAWNFLOW_RANDOM_KILL_SEED')
           or random.SystemRandom().getrandbits(32))
ARGS = ['--image', '{image}', '--block-device', crash.BLANK]
FAIL_AT = 'start-domain'


def _environment(failing):
    return crash.environment(**({faultinject.FAIL_ENV: FAIL_AT}
                                if failing else {}))


@pytest.fixture(scope='module')
def build_window(qemu_uri):
    """When, in seconds after ``server create`` starts, a build's instance
    is recorded and its flow ends (its action finishes): the window the
    kills are drawn from, succeeding and failing. Before it nothing is
    recorded; after it the process only prints and exits."""
    windows = {}
    with crash.local_setup(qemu_uri) as setup:
        for failing in (False, True):
            launched = models.utcnow()
            process = setup.start_build(ARGS, _environment(failing))
            _out, err = process.communicate(timeout=300)
            assert process.returncode == (1 if failing else 0), err
            with setup.client() as client:
                (instance,) = [i for i in client.list()
                               if i['created_at'] > launched]
                (action,) = client.actions(instance['uuid'])
            windows[failing] = tuple(
                (moment - launched).total_seconds()
                for moment in (instance['created_at'],
                               action['finish_time']))
    return windows


@pytest.mark.parametrize('run', range(RUNS),
                         ids=lambda run: 'seed%d-run%02d' % (SEED, run))
def test_random_kill(setup, build_window, monkeypatch, run):
    failing = run % 2 == 1
    delay = random.Random('%d-%d' % (SEED, run)).uniform(
        *build_window[failing])
    if failing:
        monkeypatch.setenv(faultinject.FAIL_ENV, FAIL_AT)
    process = setup.start_build(ARGS, _environment(failing))
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.kill()
    _out, err = process.communicate(timeout=60)
    assert process.returncode in (-9, 1 if failing else 0), err

    with setup.client() as client:
        print('seed %d run %d: %s build killed after %.2f s (window '
              '%.2f-%.2f s), exit %s, %s' % (
                  SEED, run, 'failing' if failing else 'good', delay,
                  *build_window[failing], process.returncode,
                  _left(client)))
        instances = client.list()
        resumed = client.resume()
        if not instances:
            # Killed before the instance was recorded: nothing to do.
            assert resumed == []
            assert client.orphans() == []
            return
        (instance,) = instances
        server = client.show(instance['uuid'])
        fault = (server['fault'] or {}).get('message', '')
        if fault.startswith('Build interrupted before its flow was saved'):
            assert server['vm_state'] == 'error'
            checks.assert_nothing_held(client, server['uuid'])
        elif failing:
            checks.assert_reverted(client, server, FAIL_AT)
        else:
            checks.assert_active(client, server, [1])
        checks.assert_nothing_left_after_delete(client, server['uuid'])


def _left(client):
    """Where the kill left the build, for the printed record."""
    if not client.list():
        return 'nothing recorded'
    (detail,) = client.engine.flow_details() or [None]
    if detail is None:
        return 'no flow saved'
    atoms = [a for a in detail if a.name != storage.Storage.injector_name]
    running = [a.name for a in atoms if a.state in ('RUNNING', 'REVERTING')]
    return 'flow %s, %d of %d tasks done or reverted%s' % (
        detail.state, sum(a.state in ('SUCCESS', 'REVERTED') for a in atoms),
        len(atoms), ', in %s' % ', '.join(running) if running else '')
