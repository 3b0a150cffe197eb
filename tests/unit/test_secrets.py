"""The masking step: oslo.utils' keys and spawnflow's extra ones, in
dicts, lists and text."""

import logging

from taskflow.types import failure

from spawnflow import secrets

SECRET = 'hunter2-7f3a'


def test_stored_connection_info_keeps_no_secret():
    info = {'target_portals': [{'auth_password': SECRET, 'portal': 'p'}],
            'keyring': SECRET, 'access_key': SECRET, 'secret': SECRET,
            'auth_username': 'chap-user', 'volume_id': 'v1',
            'options': '-o username=svc,password=%s' % SECRET}
    stored = secrets.without_secrets(info)
    assert SECRET not in repr(stored)
    assert stored['target_portals'] == [{'portal': 'p'}]
    assert stored['auth_username'] == 'chap-user'
    assert stored['volume_id'] == 'v1'


def test_text_masked_in_the_forms_services_write():
    texts = ['"keyring": "%s"' % SECRET, "{'keyring': b'%s'}" % SECRET,
             'keyring=%s' % SECRET, 'keyring: %s' % SECRET,
             'access_key:%s' % SECRET, '<keyring>%s</keyring>' % SECRET,
             'RESP BODY: {"auth_password": "%s"}' % SECRET,
             'password=%s' % SECRET]
    for text in texts:
        assert SECRET not in secrets.mask_text(text), text


def test_failures_and_log_records_are_masked():
    try:
        raise ValueError('auth_password=%s' % SECRET)
    except ValueError:
        caught = failure.Failure()
    masked = secrets.masked_failure(caught)
    assert SECRET not in masked.exception_str
    assert SECRET not in masked.traceback_str
    record = logging.LogRecord('keystoneauth.session', logging.DEBUG, 'f', 1,
                               'RESP BODY: %s', ('{"keyring": "%s"}'
                                                 % SECRET,), None)
    secrets.MaskingFilter().filter(record)
    assert SECRET not in record.getMessage()
