"""Kill builds at random moments (seeded, printed, replayable) and resume
them: every run ends ACTIVE with exactly what it should have, or ERROR with
everything reverted (every other run fails at spawn on purpose), or, if the
kill came before the build was recorded, with nothing at all.

Replay a failure with SPAWNFLOW_CRASH_SEED=<seed printed> (and -k the run).
"""

import os
import random
import signal
import time

import pytest

from spawnflow import faultinject
from tests.crash import checks
from tests.crash import conftest as crash

RUNS = 30
SEED = int(os.environ.get('SPAWNFLOW_CRASH_SEED') or
           random.SystemRandom().randrange(2 ** 32))
ARGS = ['--image', '{image}', '--block-device', crash.BLANK]
FAIL_AT = 'start-domain'


_calibrated = []


def _build_seconds(setup):
    """How long an uninterrupted build takes here (measured once): the
    range the kills fall in."""
    if not _calibrated:
        started = time.monotonic()
        process = setup.start_build(ARGS, crash.environment())
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        _calibrated.append(time.monotonic() - started)
        with setup.client() as client:
            (server,) = client.list()
            client.delete(server['uuid'])
    return _calibrated[0]


@pytest.mark.parametrize('run', range(RUNS))
def test_random_kill_then_resume(setup, run, capsys, monkeypatch):
    rng = random.Random('%d-%d' % (SEED, run))
    failing = run % 2 == 1
    env = crash.environment(**({faultinject.FAIL_ENV: FAIL_AT}
                               if failing else {}))
    duration = _build_seconds(setup)
    delay = rng.uniform(0, duration)
    with capsys.disabled():
        print('\n[seed %d run %d] kill after %.3f s of a %.2f s build%s'
              % (SEED, run, delay, duration,
                 ', failing at %s' % FAIL_AT if failing else ''))
    process = setup.start_build(ARGS, env)
    time.sleep(delay)  # the random moment itself, not a synchronisation
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)

    if failing:
        monkeypatch.setenv(faultinject.FAIL_ENV, FAIL_AT)
    with setup.client() as client:
        client.resume()
        servers = client.list()
        if not servers:
            return  # killed before the instance was recorded
        (server,) = servers
        server = client.show(server['uuid'])
        if server['fault'] and server['fault']['message'].startswith(
                'Build interrupted before its flow was saved'):
            assert client.services.volume.list() == []
        elif failing:
            checks.assert_reverted(client, server, FAIL_AT)
        else:
            checks.assert_active(client, server, [1])
        checks.assert_nothing_left_after_delete(client, server['uuid'])
