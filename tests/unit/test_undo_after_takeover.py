"""What a lost owner does with what it made after the takeover."""

import logging

from spawnflow import exception
from spawnflow.tasks import volume


def test_a_failed_undo_is_logged_masked_and_not_raised(caplog):
    def undo():
        raise exception.VolumeError('Cinder refused: password=hunter2')
    with caplog.at_level(logging.INFO, logger=volume.LOG.name):
        volume._undo_after_takeover('volume v', 'i', undo)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert 'Leaving volume v of instance i to the orphan sweep' in (
        record.getMessage())
    assert 'hunter2' not in caplog.text


def test_what_was_kept_is_not_said_removed(caplog):
    with caplog.at_level(logging.INFO, logger=volume.LOG.name):
        volume._undo_after_takeover('volume v', 'i', lambda: False)
        assert caplog.records == []
        volume._undo_after_takeover('volume v', 'i', lambda: True)
    (record,) = caplog.records
    assert record.getMessage() == (
        'Removed volume v of instance i: made after its flow was taken over')
