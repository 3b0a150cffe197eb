"""A build saved by code that has since changed is reverted, not resumed.

Each case kills a build in a subprocess, changes what this process's code
(or the saved detail) says the flow is, and resumes: the build must end
ERROR with a fault naming the change and nothing held, even what a task
this code no longer has created.
"""

from spawnflow import faultinject
from spawnflow.tasks import volume
from tests.crash import checks
from tests.crash import conftest as crash

ARGS = ['--image', '{image}', '--block-device', crash.BLANK]


def _kill_build_at(setup, spec):
    process = setup.start_build(ARGS, crash.environment(
        **{faultinject.CRASH_ENV: spec}))
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err


def _assert_reverted_for_change(client, uuid, expected):
    server = client.show(uuid)
    assert server['vm_state'] == 'error'
    message = server['fault']['message']
    assert message.startswith('refuse-changed-flow failed: The saved create '
                              'flow no longer matches this version of '
                              'spawnflow (%s)' % expected), message
    checks.assert_nothing_held(client, uuid)
    events = [e['event'] for e in client.actions(uuid)[0]['events']]
    assert events[-2:] == ['revert-claim-resources', 'revert-mark-building']
    checks.assert_nothing_left_after_delete(client, uuid)
    return events


class AllocateVolume(volume.CreateVolume):
    """CreateVolume as a later version might have renamed it."""


def test_renamed_task(setup, monkeypatch):
    # create-volume-1 made the volume; then the code renames the task.
    _kill_build_at(setup, 'attach-volume-1:before-execute')
    monkeypatch.setattr(volume, 'CreateVolume', AllocateVolume)
    with setup.client() as client:
        (instance,) = client.list()
        assert len(checks.volumes_of(client, instance['uuid'])) == 1
        assert client.resume() == [(instance['uuid'], 'create', 'REVERTED')]
        (old, replacement) = sorted(client.engine.flow_details(),
                                    key=lambda d: 'replaces' in d.meta)
        assert old.meta['replaced_by'] == replacement.uuid
        assert replacement.meta['replaces'] == old.uuid
        events = _assert_reverted_for_change(
            client, instance['uuid'],
            'saved tasks this code lacks: create-volume-1; tasks the saved '
            'flow lacks: allocate-volume-1')
        assert 'revert-allocate-volume-1' in events


def _forget_factory(client):
    """Make the saved detail name a factory this code does not have."""
    (detail,) = client.engine.unfinished()
    detail.meta['factory']['name'] = 'spawnflow.flows.build.get_old_flow'
    client.engine.backend.get_connection().update_flow_details(detail)


def test_factory_gone_and_killed_while_reverting(setup):
    # The domain is defined and running, not yet saved as such.
    _kill_build_at(setup, 'wait-for-running:after-execute')
    with setup.client() as client:
        _forget_factory(client)
        (instance,) = client.list()
    # The first resume dies while reverting the replacement flow ...
    process = setup.start(['resume'], crash.environment(
        **{faultinject.CRASH_ENV: 'define-domain:before-revert'}))
    _out, err = process.communicate(timeout=120)
    assert process.returncode == -9, err
    # ... and the next one finishes it.
    with setup.client() as client:
        assert client.services.virt.state(instance['uuid']) is not None
        assert client.resume() == [(instance['uuid'], 'create', 'REVERTED')]
        _assert_reverted_for_change(client, instance['uuid'],
                                    'its flow factory is gone')
