"""Task states move scheduling -> block_device_mapping -> spawning -> None,
each save a compare-and-swap, so a concurrent delete is detected."""

import threading

import pytest

from spawnflow import exception
from tests.fixtures import openstack as osf
from tests.functional import leaks
from tests.functional import transitions


def test_task_state_sequence(client, image):
    seen = []
    client.engine.listener_factories.append(
        lambda engine: transitions.RecordTaskStates(engine, client.db, seen))
    server = client.build('states', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=1'])
    assert server['vm_state'] == 'active'
    distinct = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert distinct == ['scheduling', 'block_device_mapping', 'spawning',
                        None]


def test_compare_and_swap_refuses_unexpected_state(client, image):
    server = client.build('cas', flavor='m1.tiny', image=image['id'])
    uuid = server['uuid']
    with pytest.raises(exception.UnexpectedTaskStateError,
                       match='expected task_state spawning but found None'):
        client.db.instance_update(uuid, {'vm_state': 'error'},
                                  expected_task_state='spawning')
    assert client.db.instance_get(uuid)['vm_state'] == 'active'


@pytest.mark.parametrize('task_name', [
    'mark-building', 'task-state-block-device-mapping',
    'task-state-spawning', 'mark-active'])
def test_concurrent_delete_detected(client, image, task_name):
    """A delete arriving (from another thread) while the build runs wins:
    the build's next compare-and-swap fails, everything is reverted, the
    instance is deleted, and the delete returns once it is."""
    before = leaks.snapshot(client)
    threads, outcome = [], []

    def delete_now():
        (instance,) = client.db.instance_list()
        deleting = threading.Thread(target=_delete, args=(
            client, instance['uuid'], outcome))
        deleting.start()
        threads.append(deleting)
        # The build goes on once the delete has asked it to stop.
        osf.wait_for(lambda: client.db.instance_get(instance['uuid'])[
            'task_state'] == 'deleting', timeout=60,
            what='the delete marking the instance deleting')

    transitions.at(client, task_name, 'RUNNING', delete_now)
    server = client.build('raced', flavor='m1.tiny', image=image['id'],
                          block_devices=[
                              'source=blank,destination=volume,size=1,'
                              'delete-on-termination=true'])
    threads[0].join(60)

    assert outcome == ['deleted']
    assert server['vm_state'] == 'deleted'
    assert client.list() == []
    events = {e['event']: e for e in client.actions(server['uuid'])[0][
        'events']}
    assert events[task_name]['result'] == 'Error'
    assert 'expected task_state' in events[task_name]['details']
    assert 'found deleting' in events[task_name]['details']
    assert leaks.snapshot(client) == before


def _delete(client, uuid, outcome):
    try:
        client.delete(uuid)
        outcome.append('deleted')
    except Exception as error:  # reported by the test's assertion
        outcome.append(error)


def test_delete_from_the_builds_own_thread_asks_it_to_stop(client, image):
    """A delete called while this thread runs the instance's build (a
    listener, a task) cannot wait for itself: it marks the instance
    deleting and returns; the build reverts and deletes it."""
    def delete_now():
        (instance,) = client.db.instance_list()
        client.delete(instance['uuid'])

    transitions.at(client, 'task-state-spawning', 'RUNNING', delete_now)
    server = client.build('raced', flavor='m1.tiny', image=image['id'])

    assert server['vm_state'] == 'deleted'
    assert client.list() == []
