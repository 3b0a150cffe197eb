"""What an atom save does to its flow's action events (pure logic: the
writes themselves run in tests/functional)."""

from taskflow.persistence import models
from taskflow import states
from taskflow.types import failure

from spawnflow.persistence import action_events


def _saved(events, atom, state, **values):
    atom.state = state
    for name, value in values.items():
        setattr(atom, name, value)
    return [(type(change).__name__, change.name,
             getattr(change, 'outcome', None))
            for change in events.changes(atom)]


def test_a_run_and_its_revert_are_two_events():
    events = action_events.ActionEvents(7, 'me')
    atom = models.TaskDetail('attach', 'a1')
    assert _saved(events, atom, states.RUNNING) == [('_Start', 'attach',
                                                     None)]
    assert _saved(events, atom, states.SUCCESS, results=1) == [
        ('_Finish', 'attach', 'Success')]
    # The engine marks it to be reverted: the state is unchanged.
    assert _saved(events, atom, states.SUCCESS,
                  intention=states.REVERT) == []
    assert _saved(events, atom, states.REVERTING) == [
        ('_Start', 'revert-attach', None)]
    assert _saved(events, atom, states.REVERTED) == [
        ('_Finish', 'revert-attach', 'Reverted')]


def test_a_failure_is_an_error_with_its_masked_text():
    events = action_events.ActionEvents(7, 'me')
    atom = models.TaskDetail('create', 'a1')
    events.changes(_running(atom))
    try:
        raise RuntimeError('refused: password=hunter2')
    except RuntimeError:
        atom.failure = failure.Failure()
    atom.state = states.FAILURE
    (change,) = events.changes(atom)
    assert (change.name, change.outcome) == ('create', 'Error')
    assert 'hunter2' not in change.text and 'refused' in change.text


def test_tasks_resumed_as_saved_are_no_new_run():
    """restarting() opened them; their next RUNNING save (with progress)
    is the same run. The store's injector is no task."""
    events = action_events.ActionEvents(7, 'me')
    detail = models.FlowDetail('f', 'f1')
    detail.state = states.RUNNING
    running = _running(models.TaskDetail('fetch', 'a1'))
    injector = models.TaskDetail('_TaskFlow_INJECTOR', 'a2')
    detail.add(running)
    detail.add(injector)
    opened = []

    class Db:
        def event_start(self, action_id, event, owner):
            opened.append((action_id, event, owner))
    events.restarting(Db(), detail)
    assert opened == [(7, 'fetch', 'me')]
    assert _saved(events, running, states.RUNNING,
                  meta={'progress': 0.5}) == []
    assert _saved(events, injector, states.SUCCESS) == []


def _running(atom):
    atom.state = states.RUNNING
    return atom
