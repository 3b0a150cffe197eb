"""Fuzzing what a user can hand to a build (Hypothesis): the
``--block-device`` parser and every argument of ``Client.build``. Every
input is either refused with a SpawnflowError before anything is created
(no instance row, no volume, no domain, no file), or builds an ACTIVE
instance, which is then deleted.
"""

import hypothesis
from hypothesis import strategies as st
import pytest

from spawnflow import exception
from spawnflow import objects
from tests.functional import leaks

SETTINGS = hypothesis.settings(
    max_examples=300, deadline=None, database=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture,
                           hypothesis.HealthCheck.too_slow])

#: Digits Python's int() takes but a user typing a size does not mean.
SNEAKY_NUMBERS = ['1_0', '+1', '\u0661', '\uff11', '1e3', '0x10', ' 1',
                  '-1', '0', '2147483648', '9' * 40, '1.5', '']
KEYS = ['source', 'destination', 'size', 'uuid', 'boot-index', 'boot_index',
        'delete-on-termination', 'delete_on_termination', 'source_type',
        'volume_size', 'colour', 'SIZE', '']


def _values(image_id):
    return st.one_of(
        st.sampled_from(['image', 'blank', 'snapshot', 'volume', 'local',
                         'true', 'false', 'yes', image_id, '1', '2']),
        st.sampled_from(SNEAKY_NUMBERS),
        st.text(max_size=12),
        st.integers(-3, 2 ** 40).map(str))


def _spec(image_id):
    """A --block-device string: nearly right ones (a known mapping with
    sizes, flags and extra items drawn from hostile values), key=value
    items with keys repeated or unknown, malformed items, plain text."""
    item = st.one_of(
        st.tuples(st.sampled_from(KEYS), _values(image_id)).map(
            lambda kv: '%s=%s' % kv),
        st.text(max_size=8))
    nearly_right = st.tuples(
        st.sampled_from(['source=blank,destination=volume',
                         'source=image,destination=volume,uuid=' + image_id,
                         'source=image,destination=local,uuid=' + image_id,
                         'source=volume,destination=volume,uuid=x']),
        st.one_of(st.integers(1, 3).map(str),
                  st.sampled_from(SNEAKY_NUMBERS)).map('size=%s'.__mod__),
        st.lists(st.one_of(st.sampled_from(
            ['delete-on-termination=true', 'delete_on_termination=no',
             'boot-index=-1', 'boot-index=none']), item), max_size=2)).map(
            lambda parts: ','.join([parts[0], parts[1]] + parts[2]))
    # (Listed twice: a nearly right spec is drawn half of the time.)
    return st.one_of(nearly_right, nearly_right,
                     st.lists(item, max_size=7).map(','.join),
                     st.text(max_size=40))


def _dict_spec(image_id):
    scalar = st.one_of(_values(image_id), st.integers(-3, 2 ** 33),
                       st.booleans(), st.none(), st.floats(-2, 30),
                       st.lists(st.integers(), max_size=2))
    return st.dictionaries(st.sampled_from(KEYS), scalar, max_size=6)


@pytest.fixture
def image_id(image):
    return image['id']


def _try_build(client, **kwargs):
    """Build with ``kwargs``; the instance if it was accepted (deleted
    again), else None after checking that nothing was created."""
    before = leaks.snapshot(client)
    try:
        server = client.build(**kwargs)
    except exception.SpawnflowError:
        assert client.db.instance_list(read_deleted=True) == []
        assert leaks.snapshot(client) == before
        return None
    assert server['vm_state'] == 'active', (kwargs, server['fault'])
    client.delete(server['uuid'])
    client.db.engine.dispose()
    return server


def _forget_deleted(client):
    """Deleted instances are kept as rows (as in Nova); the "nothing
    created" check of the next example starts from none."""
    with client.db.engine.begin() as conn:
        for table in ('instance_actions_events', 'instance_actions',
                      'instance_faults', 'block_device_mappings',
                      'instances'):
            if table == 'instance_actions_events':
                conn.exec_driver_sql(
                    'DELETE FROM instance_actions_events WHERE action_id IN '
                    '(SELECT id FROM instance_actions)')
            else:
                conn.exec_driver_sql('DELETE FROM %s' % table)


def test_block_device_strings(client, image_id):
    accepted = []

    @SETTINGS
    @hypothesis.given(specs=st.lists(_spec(image_id), min_size=1,
                                     max_size=2))
    def check(specs):
        server = _try_build(client, name='fuzz', flavor='m1.tiny',
                            image=image_id, block_devices=specs)
        if server is not None:
            accepted.append(specs)
            _forget_deleted(client)

    check()
    print('--block-device strings: %d built' % len(accepted))
    # The fuzzer reached both outcomes (a refusal of everything would
    # prove nothing).
    assert accepted


def test_build_arguments(client, image_id):
    outcomes = {'accepted': 0, 'refused': 0}
    numbers = st.one_of(st.none(), st.integers(-2, 2 ** 34),
                        st.integers(1, 4), st.sampled_from(SNEAKY_NUMBERS),
                        st.booleans(), st.floats(-1, 4), st.text(max_size=4))
    block_device = st.one_of(_spec(image_id), _dict_spec(image_id),
                             st.integers(), st.none(),
                             st.just(objects.BlockDeviceMapping(
                                 'blank', 'volume', volume_size='1_0')))
    hostile = {
        'name': st.one_of(st.text(max_size=300), st.integers(), st.none(),
                          st.binary(max_size=5)),
        'flavor': st.one_of(st.none(), st.sampled_from(
            ['m1.tiny', 'm1.small', 'm1.huge', '']), st.integers()),
        'image': st.one_of(st.none(), st.just(image_id),
                           st.text(max_size=20), st.integers(),
                           st.sampled_from([
                               'http://127.0.0.1:1/x#sha256=' + 'a' * 64,
                               'ftp://x/y'])),
        'block_devices': st.one_of(st.lists(block_device, max_size=3),
                                   st.text(max_size=10), st.integers(),
                                   _dict_spec(image_id)),
        'vcpus': numbers, 'ram': numbers, 'disk': numbers,
    }
    # A good request with some of its arguments made hostile, or all.
    good = {'name': 'fuzz', 'flavor': 'm1.tiny', 'image': image_id,
            'block_devices': []}
    some_hostile = st.dictionaries(
        st.sampled_from(sorted(hostile)), st.none(), max_size=3).flatmap(
            lambda keys: st.fixed_dictionaries(
                {key: hostile[key] for key in keys})).map(
            lambda changed: dict(good, **changed))
    requests = st.one_of(some_hostile, st.fixed_dictionaries(hostile))

    @SETTINGS
    @hypothesis.given(kwargs=requests)
    def check(kwargs):
        if _try_build(client, **kwargs) is None:
            outcomes['refused'] += 1
        else:
            outcomes['accepted'] += 1
            _forget_deleted(client)

    check()
    print('build arguments: %(accepted)d built, %(refused)d refused'
          % outcomes)
    assert outcomes['refused'] and outcomes['accepted'], outcomes


@pytest.mark.parametrize('kwargs, message', [
    ({'image': 12345}, 'Image must be a non-empty string, not 12345.'),
    ({'block_devices': [5]}, 'A block device must be a key=value,... '
                             'string, a dict or a BlockDeviceMapping, not 5.'),
    ({'block_devices': 'source=blank,destination=volume,size=1'},
     "block_devices must be a list, not 'source=blank,destination=volume,"
     "size=1'."),
    ({'block_devices': [{'source': 'blank', 'destination': 'volume',
                         'size': 1, 'colour': 'red'}]},
     "Unknown block device key 'colour'; known are "),
    ({'block_devices': [{'source': 'blank', 'destination': 'volume',
                         'size': 1, 'boot_index': 1.9}]},
     'Boot index must be an integer, not 1.9.'),
    ({'flavor': 7}, 'flavor must be a flavor name or a Flavor, not 7.'),
    ({'flavor': None, 'vcpus': 1, 'ram': 64, 'disk': 1.5},
     'disk must be an integer, not 1.5.'),
    ({'name': b'web'}, "Name must be a string, not b'web'."),
])
def test_api_refuses_bad_arguments(client, image_id, kwargs, message):
    """The issue's own cases: each a SpawnflowError, nothing created."""
    arguments = dict({'name': 'api', 'flavor': 'm1.tiny', 'image': image_id},
                     **kwargs)
    before = leaks.snapshot(client)
    with pytest.raises(exception.InvalidRequest) as info:
        client.build(**arguments)
    assert str(info.value).startswith(message), str(info.value)
    assert client.db.instance_list(read_deleted=True) == []
    assert leaks.snapshot(client) == before
