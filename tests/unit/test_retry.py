"""retry.Policy: a first attempt outside tenacity, the retries in it,
with the same attempts, waits and messages as when tenacity ran all."""

import logging

import pytest

from spawnflow import exception
from spawnflow import retry


class Unit:
    """Fails with each of ``failures`` in turn, then returns 'done'."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, value):
        self.calls += 1
        assert value == 'argument'
        if self.failures:
            raise self.failures.pop(0)
        return 'done'


def _busy(number):
    return exception.ServiceUnavailable('db', 'busy %d' % number)


def test_a_unit_that_succeeds_runs_once():
    unit = Unit()
    assert retry.Policy(3, 0, 0).call('x', unit, 'argument') == 'done'
    assert unit.calls == 1


def test_a_transient_failure_is_retried_as_the_policy_says(caplog):
    unit = Unit(_busy(1), _busy(2))
    with caplog.at_level(logging.INFO, logger=retry.__name__):
        assert retry.Policy(3, 0, 0).call('save', unit, 'argument') == 'done'
    assert unit.calls == 3
    assert [record.getMessage() for record in caplog.records] == [
        'save failed (db: busy 1); attempt 2 of 4 in 0.0 s',
        'save failed (db: busy 2); attempt 3 of 4 in 0.0 s']


def test_the_last_failure_is_raised_once_the_attempts_are_spent():
    unit = Unit(*(_busy(number) for number in range(1, 6)))
    with pytest.raises(exception.ServiceUnavailable, match='busy 3'):
        retry.Policy(2, 0, 0).call('x', unit, 'argument')
    assert unit.calls == 3


@pytest.mark.parametrize('retries', [0, 3])
def test_no_retry_without_retries_or_of_another_error(retries):
    transient = Unit(_busy(1))
    if not retries:
        with pytest.raises(exception.ServiceUnavailable):
            retry.Policy(retries, 0, 0).call('x', transient, 'argument')
        assert transient.calls == 1
    other = Unit(ValueError('no'))
    with pytest.raises(ValueError):
        retry.Policy(retries, 0, 0).call('x', other, 'argument')
    assert other.calls == 1
