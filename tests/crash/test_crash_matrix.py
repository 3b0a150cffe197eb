"""Kill a build with SIGKILL at every point of every task, resume it in
another process, and check the end state.

For each scenario and each (task, point) the build reaches, a subprocess
runs ``spawnflow server create`` with SPAWNFLOW_CRASH_AT=<task>:<point> and
dies there; this process then runs ``resume`` (as a new conductor would)
and asserts: ACTIVE with exactly one volume per block device, one domain,
one attachment per volume; or, for the build that fails at spawn, ERROR
with everything reverted. Every case ends with ``orphans list`` empty.
Deletes killed at each task finish on resume too.
"""

import pytest

from spawnflow import faultinject
from spawnflow.flows import build
from spawnflow.flows import changed
from spawnflow.flows import delete
from tests.crash import checks
from tests.crash import conftest as crash

IMAGE_VOLUME = ('source=image,destination=volume,size=1,boot-index=0,'
                'delete-on-termination=true,uuid={image}')

# name: (server create arguments, block device shape, task made to fail)
SCENARIOS = {
    'image-local-booted': (['--image', '{image}'],
                           [(0, 'image', 'local')], None),
    'image-to-volume': (['--block-device', IMAGE_VOLUME],
                        [(0, 'image', 'volume')], None),
    'failing-at-spawn': (['--image', '{image}', '--block-device',
                          crash.BLANK],
                         [(0, 'image', 'local'), (1, 'blank', 'volume')],
                         'start-domain'),
    'image-to-cinder-volume': (['--block-device', IMAGE_VOLUME],
                               [(0, 'image', 'volume')], None),
}
#: The setup each scenario runs on: real Glance and Cinder, or the tiny
#: guest booted (each build waits for its boot marker), or else local
#: stores with an empty disk (the domain runs; nothing boots).
SETUPS = {'image-to-cinder-volume': 'cinder_setup',
          'image-local-booted': 'booting_setup'}


def _cases():
    for scenario, (_args, shape, fail_at) in SCENARIOS.items():
        names = list(changed.atom_names(build.get_build_flow('x', shape)))
        if fail_at:
            names = names[:names.index(fail_at) + 1]
            points = faultinject.POINTS
        else:
            points = ('before-execute', 'after-execute')
        for point in points:
            for name in names:
                yield pytest.param(scenario, name, point,
                                   id='%s-%s-%s' % (scenario, name, point))


@pytest.mark.parametrize('scenario, task_name, point', list(_cases()))
def test_crash_and_resume(request, monkeypatch, scenario, task_name, point):
    setup = request.getfixturevalue(SETUPS.get(scenario, 'setup'))
    args, shape, fail_at = SCENARIOS[scenario]
    env = crash.environment(**{faultinject.CRASH_ENV:
                               '%s:%s' % (task_name, point)})
    if fail_at:
        env[faultinject.FAIL_ENV] = fail_at
        monkeypatch.setenv(faultinject.FAIL_ENV, fail_at)
    process = setup.start_build(args, env)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err  # killed at the point

    with setup.client() as client:
        (instance,) = client.list()
        resumed = client.resume()
        assert [(u, a) for u, a, _state in resumed] == [(instance['uuid'],
                                                         'create')]
        server = client.show(instance['uuid'])
        if fail_at:
            checks.assert_reverted(client, server, fail_at)
        else:
            checks.assert_active(client, server, [
                index for index, _s, dest in shape if dest == 'volume'])
            if setup.booting:
                checks.assert_booted(client, server['uuid'])
        checks.assert_nothing_left_after_delete(client, server['uuid'])


DELETE_SHAPE = [(0, 'image', 'local'), (1, 'blank', 'volume')]


@pytest.mark.parametrize('task_name', list(changed.atom_names(
    delete.get_delete_flow('x', DELETE_SHAPE))))
@pytest.mark.parametrize('point', ['before-execute', 'after-execute'])
def test_delete_crash_and_resume(setup, task_name, point):
    """A delete killed at any task finishes on resume: the instance is
    deleted and holds nothing (its volume had delete_on_termination)."""
    with setup.client() as client:
        server = client.build('doomed', flavor='m1.tiny',
                              image=setup.image['id'],
                              block_devices=[crash.BLANK])
        checks.assert_active(client, server, [1])
    process = setup.start(['server', 'delete', server['uuid']],
                          crash.environment(**{faultinject.CRASH_ENV:
                                               '%s:%s' % (task_name, point)}))
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err

    with setup.client() as client:
        assert client.resume() == [(server['uuid'], 'delete', 'SUCCESS')]
        assert client.list() == []
        checks.assert_instance_gone(client, server['uuid'])
        assert client.orphans() == []


@pytest.mark.parametrize('state', ['SUCCESS', None])
def test_resume_after_a_kill_inside_taskflows_store_save(setup, state):
    """Found by the random kills (seed 3506677948, run 24, and seed
    3452629869, run 11): TaskFlow saves the store's atom detail with no
    state and no results, then both; a kill between the two left a detail
    TaskFlow could not load (results None) or read (state None: every task
    then missed instance_uuid)."""
    env = crash.environment(**{faultinject.CRASH_ENV:
                               'mark-building:before-execute'})
    process = setup.start_build(['--image', '{image}'], env)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err
    with setup.client() as client:
        (detail,) = client.engine.unfinished()
        (injector,) = [a for a in detail if a.name == '_TaskFlow_INJECTOR']
        injector.state = state  # as a kill between the saves left it
        injector.results = None
        client.engine.backend.get_connection().update_atom_details(injector)
        (instance,) = client.list()
        assert [s for _u, _a, s in client.resume()] == ['SUCCESS']
        checks.assert_active(client, client.show(instance['uuid']), [])
        checks.assert_nothing_left_after_delete(client, instance['uuid'])
