"""Validation rules of spawnflow.objects: pure logic, no services."""

import re

import hypothesis
from hypothesis import strategies
import pytest

from spawnflow import exception
from spawnflow import objects

IMAGE = '5f8c3b2a-0a4e-4d0e-9d5e-1f2a3b4c5d6e'
VOLUME = '0b8d1d3c-7d7c-4c5e-8a1e-9c0d1e2f3a4b'


def _bdm(spec):
    return objects.BlockDeviceMapping.parse(spec)


def _request(image_ref=None, bdms=(), name='vm', flavor='m1.tiny'):
    return objects.BuildRequest(
        name=name, flavor=objects.Flavor.named(flavor), image_ref=image_ref,
        block_device_mappings=[_bdm(s) for s in bdms])


# BlockDeviceMapping.parse ----------------------------------------------


def test_parse_blank_volume_all_keys():
    bdm = _bdm('source=blank,destination=volume,size=2,boot-index=1,'
               'delete-on-termination=true')
    assert bdm == objects.BlockDeviceMapping(
        source_type='blank', destination_type='volume', uuid=None,
        volume_size=2, boot_index=1, delete_on_termination=True,
        device_name=None)


def test_parse_accepts_openstackclient_keys():
    bdm = _bdm('source_type=volume,destination_type=volume,uuid=%s,'
               'boot_index=0,delete_on_termination=no,device_name=/dev/vdb'
               % VOLUME)
    assert (bdm.source_type, bdm.destination_type) == ('volume', 'volume')
    assert bdm.uuid == VOLUME
    assert bdm.boot_index == 0
    assert bdm.delete_on_termination is False
    assert bdm.volume_size is None


def test_parse_image_local_defaults():
    bdm = _bdm('source=image,destination=local,boot-index=0,uuid=%s'
               % IMAGE)
    assert bdm.uuid == IMAGE
    assert bdm.volume_size is None
    assert bdm.delete_on_termination is False


@pytest.mark.parametrize('spec, message', [
    ('source=blank,destination=volume,size=1,colour=red',
     "Unknown block device key 'colour'"),
    ('source=blank,destination=volume,size', "Invalid block device "
     "'source=blank,destination=volume,size': give key=value items"),
    ('source=blank,destination=volume,SIZE=1', "key 'SIZE'"),
    ('source=blank, destination=volume,size=1', "key ' destination'"),
    ('source=blank,destination=volume,size=1,', 'give key=value items'),
    ('destination=volume,size=1', r'needs source= \(or source_type=\) and '
                                  r'destination='),
    ('source=blank,size=1', r'needs source= \(or source_type=\) and '
                            r'destination='),
    ('', 'give key=value items'),
])
def test_parse_refuses_malformed_specs(spec, message):
    with pytest.raises(exception.InvalidRequest, match=message):
        _bdm(spec)


@pytest.mark.parametrize('size, message', [
    ('0', 'must be a positive integer, not 0'),
    ('-1', 'must be a positive integer, not -1'),
    ('abc', "must be an integer, not 'abc'"),
    ('1.5', "must be an integer, not '1.5'"),
])
def test_parse_refuses_bad_sizes(size, message):
    with pytest.raises(exception.InvalidRequest,
                       match='Block device size ' + message):
        _bdm('source=blank,destination=volume,size=%s' % size)


# Sizes and counts are plain decimal ASCII digits: Python's int() would
# also take these, which nobody typing a size means.
@pytest.mark.parametrize('size', [
    '1_0', '+1', '\u0661', '\uff11', '1e3', '0x10', '1 0', '\u00b2'])
def test_parse_refuses_sizes_python_would_accept(size):
    with pytest.raises(exception.InvalidRequest,
                       match="^Block device size must be an integer, not "):
        _bdm('source=blank,destination=volume,size=%s' % size)


@pytest.mark.parametrize('size', ['2147483648', '999999999999',
                                  '9' * 5000])
def test_parse_refuses_sizes_over_the_database_limit(size):
    with pytest.raises(exception.InvalidRequest,
                       match='^Block device size must be at most '
                             '2147483647, not '):
        _bdm('source=blank,destination=volume,size=%s' % size)


def test_parse_takes_the_largest_size_the_database_holds():
    assert _bdm('source=blank,destination=volume,size=2147483647'
                ).volume_size == 2 ** 31 - 1


@pytest.mark.parametrize('spec, key', [
    ('source=blank,destination=volume,size=1,size=2', 'size'),
    ('source=blank,source=image,destination=volume,size=1', 'source'),
    ('source=blank,destination=volume,size=1,boot-index=0,boot-index=1',
     'boot-index'),
])
def test_parse_refuses_repeated_keys(spec, key):
    with pytest.raises(exception.InvalidRequest,
                       match='gives %s= twice' % key):
        _bdm(spec)


def test_parse_refuses_a_key_given_in_both_spellings():
    with pytest.raises(exception.InvalidRequest,
                       match=r'gives boot_index twice \(boot_index, '
                             r'boot-index\)'):
        _bdm('source=blank,destination=volume,size=1,boot-index=0,'
             'boot_index=1')


@pytest.mark.parametrize('values, message', [
    ({'source': 'blank', 'destination': 'volume', 'size': 1, 'colour': 1},
     "Unknown block device key 'colour'"),
    ({'source': 'blank', 'source_type': 'blank', 'destination': 'volume',
      'size': 1}, 'gives source_type twice'),
    ({'source': 'blank', 'destination': 'volume', 'size': 1.5},
     'Block device size must be an integer, not 1.5'),
    ({'source': 'blank', 'destination': 'volume', 'size': True},
     'Block device size must be an integer, not True'),
    ({'source': 'blank', 'destination': 'volume', 'size': 1,
      'boot_index': 1.9}, 'Boot index must be an integer, not 1.9'),
    ({'source': 'blank', 'destination': 'volume', 'size': 1,
      'boot_index': 26}, 'Boot index must be at most 25'),
    ({'source': 'volume', 'destination': 'volume', 'uuid': 5},
     'Block device uuid must be a non-empty string, not 5'),
    ({'source': 'volume', 'destination': 'volume', 'uuid': 'x' * 256},
     'Block device uuid is 256 characters long'),
    ({'source': 'blank', 'destination': 'volume', 'size': 1,
      'delete_on_termination': 1}, 'delete-on-termination must be true or '
                                   'false, not 1'),
    ({'source': ['blank'], 'destination': 'volume', 'size': 1},
     'source must be one of'),
])
def test_from_request_refuses_bad_dicts(values, message):
    with pytest.raises(exception.InvalidRequest, match=re.escape(message)):
        objects.BlockDeviceMapping.from_request(values)


@pytest.mark.parametrize('value', [5, None, ['source=blank'], b'x'])
def test_from_request_refuses_what_is_not_a_dict(value):
    with pytest.raises(exception.InvalidRequest,
                       match='^A block device must be a key=value'):
        objects.BlockDeviceMapping.from_request(value)


@pytest.mark.parametrize('value, expected', [
    ('0', 0), ('3', 3), (' 2 ', 2), ('', None), ('none', None),
    # Negative boot indexes mean "not bootable", as in Nova.
    ('-1', None),
])
def test_parse_boot_index(value, expected):
    spec = 'source=blank,destination=volume,size=1,boot-index=%s' % value
    assert _bdm(spec).boot_index == expected


@pytest.mark.parametrize('value', ['first', '1.0', '0x1', '1_0', '\u0661'])
def test_parse_refuses_non_integer_boot_index(value):
    with pytest.raises(exception.InvalidRequest,
                       match="Boot index must be an integer, not '%s'"
                       % value):
        _bdm('source=blank,destination=volume,size=1,boot-index=%s'
             % value)


@pytest.mark.parametrize('value, expected', [
    ('true', True), ('True', True), ('yes', True), ('1', True),
    ('on', True), ('false', False), ('FALSE', False), ('no', False),
    ('0', False), ('off', False),
])
def test_parse_delete_on_termination(value, expected):
    bdm = _bdm('source=blank,destination=volume,size=1,'
               'delete-on-termination=%s' % value)
    assert bdm.delete_on_termination is expected


@pytest.mark.parametrize('value', ['maybe', '2', 'ture', ''])
def test_parse_refuses_garbage_delete_on_termination(value):
    with pytest.raises(exception.InvalidRequest,
                       match='delete-on-termination must be true or false'):
        _bdm('source=blank,destination=volume,size=1,'
             'delete-on-termination=%s' % value)


@pytest.mark.parametrize('spec, message', [
    ('source=disk,destination=volume,size=1', 'source must be one of'),
    ('source=blank,destination=cloud,size=1', 'destination must be one of'),
    ('source=blank,destination=local', 'blank->local is not supported'),
    ('source=blank,destination=volume', 'needs size= in GiB'),
    ('source=image,destination=volume,uuid=%s' % IMAGE,
     'needs size= in GiB'),
    ('source=blank,destination=volume,size=1,uuid=%s' % VOLUME,
     'takes no uuid'),
    ('source=snapshot,destination=volume', 'needs uuid= naming the '
                                           'snapshot'),
    ('source=volume,destination=volume', 'needs uuid= naming the volume'),
    ('source=image,destination=local,boot-index=0,size=1,uuid=%s' % IMAGE,
     'size= is not accepted'),
    ('source=image,destination=local,uuid=%s' % IMAGE,
     'must have boot index 0'),
])
def test_parse_refuses_invalid_mappings(spec, message):
    with pytest.raises(exception.InvalidRequest, match=message):
        _bdm(spec)


def test_to_dict_round_trips():
    bdm = _bdm('source=blank,destination=volume,size=3,boot-index=2')
    assert objects.BlockDeviceMapping.from_dict(bdm.to_dict()) == bdm


# BuildRequest ----------------------------------------------------------


def test_image_ref_implies_local_root_disk():
    request = _request(image_ref=IMAGE)
    [root] = request.block_device_mappings
    assert (root.source_type, root.destination_type) == ('image', 'local')
    assert root.uuid == IMAGE
    assert root.boot_index == 0
    assert root.device_name == 'vda'
    assert request.image_ids() == [IMAGE]


def test_image_ref_fills_uuid_of_explicit_image_local_disk():
    request = objects.BuildRequest(
        name='vm', flavor=objects.Flavor.named('m1.tiny'), image_ref=IMAGE,
        block_device_mappings=[objects.BlockDeviceMapping(
            'image', 'local', boot_index=0)])
    [root] = request.block_device_mappings
    assert root.uuid == IMAGE


def test_image_local_without_any_image_is_refused():
    with pytest.raises(exception.InvalidRequest,
                       match='image->local block device needs an image'):
        objects.BuildRequest(
            name='vm', flavor=objects.Flavor.named('m1.tiny'),
            block_device_mappings=[objects.BlockDeviceMapping(
                'image', 'local', boot_index=0)])


def test_image_that_would_not_be_used_is_refused():
    """A block device boots: --image would make no root disk, and would
    be recorded unchecked."""
    with pytest.raises(exception.InvalidRequest,
                       match='The image %s would not be used: a block '
                             'device has boot index 0' % IMAGE):
        _request(image_ref=IMAGE, bdms=[
            'source=blank,destination=volume,size=1,boot-index=0'])


@pytest.mark.parametrize('spec, message', [
    ('source=volume,destination=volume,uuid=detail',
     "The volume 'detail' is not a volume's UUID."),
    ('source=snapshot,destination=volume,uuid=../x',
     "The snapshot '../x' is not a snapshot's UUID."),
    ('source=image,destination=volume,size=1,uuid=schemas',
     "The image 'schemas' is not an image UUID nor an http(s) URL"),
])
def test_references_must_be_uuids(spec, message):
    with pytest.raises(exception.InvalidRequest, match=re.escape(message)):
        _bdm(spec)


def test_device_names_follow_boot_order_then_request_order():
    request = _request(image_ref=IMAGE, bdms=[
        'source=blank,destination=volume,size=1',
        'source=blank,destination=volume,size=2,boot-index=2',
        'source=blank,destination=volume,size=3,boot-index=1',
        'source=blank,destination=volume,size=4,boot-index=-1',
    ])
    names = {(b.source_type, b.volume_size): b.device_name
             for b in request.block_device_mappings}
    assert names == {('image', None): 'vda', ('blank', 3): 'vdb',
                     ('blank', 2): 'vdc', ('blank', 1): 'vdd',
                     ('blank', 4): 'vde'}
    # The implied root disk comes first in the list too.
    assert request.block_device_mappings[0].source_type == 'image'


def test_boot_from_volume_without_image():
    request = _request(bdms=[
        'source=volume,destination=volume,uuid=%s,boot-index=0' % VOLUME])
    assert request.block_device_mappings[0].device_name == 'vda'
    assert request.image_ids() == []


def test_duplicate_boot_indexes_refused():
    with pytest.raises(exception.InvalidRequest,
                       match=r'^Duplicate boot index 0\.$'):
        _request(bdms=['source=blank,destination=volume,size=1,'
                       'boot-index=0'] * 2)


def test_duplicate_boot_index_with_implied_root_disk_refused():
    with pytest.raises(exception.InvalidRequest,
                       match=r'^Duplicate boot index 1\.$'):
        _request(image_ref=IMAGE, bdms=[
            'source=blank,destination=volume,size=1,boot-index=1'] * 2)


@pytest.mark.parametrize('indexes, shown', [
    ((0, 2), '0, 2'), ((2, 0, 3), '0, 2, 3'), ((0, 1, 3), '0, 1, 3'),
])
def test_non_sequential_boot_indexes_refused(indexes, shown):
    specs = ['source=blank,destination=volume,size=1,boot-index=%d' % i
             for i in indexes]
    with pytest.raises(exception.InvalidRequest,
                       match='Boot indexes must be sequential from 0, got '
                             + shown):
        _request(bdms=specs)


def test_nothing_bootable_refused():
    with pytest.raises(exception.InvalidRequest, match='Nothing to boot'):
        _request()


@pytest.mark.parametrize('bdms', [
    ['source=blank,destination=volume,size=1'],
    ['source=blank,destination=volume,size=1,boot-index=-1'],
    ['source=blank,destination=volume,size=1,boot-index='],
    ['source=volume,destination=volume,uuid=%s' % VOLUME,
     'source=blank,destination=volume,size=1'],
])
def test_no_bootable_device_refused(bdms):
    # No image and no block device with boot index 0: Nova refuses this
    # (InvalidBDMBootSequence) instead of defining an unbootable guest.
    with pytest.raises(exception.InvalidRequest,
                       match='^Nothing to boot from'):
        _request(bdms=bdms)


def test_boot_indexes_must_start_at_zero():
    with pytest.raises(exception.InvalidRequest,
                       match='^(Nothing to boot from|Boot indexes must be '
                             'sequential from 0, got 1, 2)'):
        _request(bdms=['source=blank,destination=volume,size=1,'
                       'boot-index=%d' % i for i in (1, 2)])


def test_two_local_disks_refused():
    # Both need boot index 0, so the duplicate check may fire first.
    with pytest.raises(exception.InvalidRequest,
                       match='^(At most one image->local block device|'
                             'Duplicate boot index 0)'):
        objects.BuildRequest(
            name='vm', flavor=objects.Flavor.named('m1.tiny'),
            image_ref=IMAGE, block_device_mappings=[
                objects.BlockDeviceMapping('image', 'local', uuid=IMAGE,
                                           boot_index=0),
                objects.BlockDeviceMapping('image', 'local', uuid=IMAGE,
                                           boot_index=0)])


def test_more_devices_than_letters_refused():
    specs = ['source=blank,destination=volume,size=1'] * 26
    with pytest.raises(exception.InvalidRequest,
                       match='At most 26 block devices'):
        _request(image_ref=IMAGE, bdms=specs)


def test_name_is_validated_by_build_request():
    with pytest.raises(exception.InvalidRequest, match='must not be empty'):
        _request(image_ref=IMAGE, name=' ')


# Flavor ----------------------------------------------------------------


@pytest.mark.parametrize('name, shape', sorted(
    objects.DEFAULT_FLAVORS.items()))
def test_named_flavors(name, shape):
    flavor = objects.Flavor.named(name)
    assert (flavor.name, flavor.vcpus, flavor.memory_mb,
            flavor.root_gb) == (name,) + shape


def test_m1_tiny_matches_nova():
    assert objects.Flavor.named('m1.tiny').to_dict() == {
        'name': 'm1.tiny', 'vcpus': 1, 'memory_mb': 512, 'root_gb': 1}


@pytest.mark.parametrize('name', ['m1.huge', 'M1.TINY', '', 'tiny'])
def test_unknown_flavor(name):
    with pytest.raises(exception.FlavorNotFound,
                       match='Flavor %s could not be found' % name):
        objects.Flavor.named(name)


def test_custom_flavor_converts_strings():
    flavor = objects.Flavor('custom', '2', ' 1024 ', 10)
    assert (flavor.vcpus, flavor.memory_mb, flavor.root_gb) == (2, 1024, 10)


@pytest.mark.parametrize('field, what', [
    ('vcpus', 'vcpus'), ('memory_mb', 'ram'), ('root_gb', 'disk')])
@pytest.mark.parametrize('value', [0, -1, '0', '-5'])
def test_flavor_refuses_non_positive(field, what, value):
    values = {'vcpus': 1, 'memory_mb': 512, 'root_gb': 1, field: value}
    with pytest.raises(exception.InvalidRequest,
                       match='^%s must be a positive integer, not %s\\.$'
                       % (what, value)):
        objects.Flavor('custom', **values)


@pytest.mark.parametrize('value', ['abc', '1.5', True, None, 1.0, '1_0',
                                   '+2', '\u0662'])
def test_flavor_refuses_non_integers(value):
    with pytest.raises(exception.InvalidRequest,
                       match='^vcpus must be an integer'):
        objects.Flavor('custom', value, 512, 1)


@pytest.mark.parametrize('field, what', [
    ('vcpus', 'vcpus'), ('memory_mb', 'ram'), ('root_gb', 'disk')])
@pytest.mark.parametrize('value', ['99999999999999999999', 2 ** 31])
def test_flavor_refuses_values_over_the_database_limit(field, what, value):
    values = {'vcpus': 1, 'memory_mb': 512, 'root_gb': 1, field: value}
    with pytest.raises(exception.InvalidRequest,
                       match='^%s must be at most 2147483647, not ' % what):
        objects.Flavor('custom', **values)


# validate_name ---------------------------------------------------------


@pytest.mark.parametrize('name', ['', ' ', '\t'])
def test_empty_name_refused(name):
    with pytest.raises(exception.InvalidRequest,
                       match='Name must not be empty'):
        objects.validate_name(name)


@pytest.mark.parametrize('name', [None, 12345, b'web', ['web']])
def test_name_that_is_not_a_string_refused(name):
    with pytest.raises(exception.InvalidRequest,
                       match='^Name must be a string, not '):
        objects.validate_name(name)


def test_name_length_limit():
    assert objects.validate_name('x' * 255) == 'x' * 255
    with pytest.raises(exception.InvalidRequest,
                       match='Name is 256 characters long; the limit is '
                             '255'):
        objects.validate_name('x' * 256)


@pytest.mark.parametrize('char', ['\x00', '\n', '\r', '\x1b', '\x7f',
                                  '\u200b'])
def test_control_characters_refused(char):
    with pytest.raises(exception.InvalidRequest,
                       match='must not contain control characters'):
        objects.validate_name('web%s1' % char)


@pytest.mark.parametrize('name', [
    '<script>', 'a & b', 'say "hi"', "it's", '<a href="x">&amp;</a>',
    'caf\u00e9 \u2603', ']]>'])
def test_markup_characters_accepted(name):
    assert objects.validate_name(name) == name


# User data and network config, for the config drive.

def _with_config_drive(user_data=None, network_config=None):
    return objects.BuildRequest(
        name='vm', flavor=objects.Flavor.named('m1.tiny'), image_ref=IMAGE,
        user_data=user_data, network_config=network_config)


def test_user_data_is_kept_byte_for_byte_up_to_the_limit():
    data = bytes(range(256)) * (objects.MAX_USER_DATA_BYTES // 256)
    assert _with_config_drive(user_data=data).user_data == data
    assert _with_config_drive(user_data=b'').user_data is None


@pytest.mark.parametrize('value, message', [
    (b'x' * (objects.MAX_USER_DATA_BYTES + 1),
     'User data is 65536 bytes long; the limit is 65535.'),
    ('#cloud-config', 'User data must be bytes, not str.'),
])
def test_bad_user_data_is_refused(value, message):
    with pytest.raises(exception.InvalidRequest, match=re.escape(message)):
        _with_config_drive(user_data=value)


@pytest.mark.parametrize('value', [
    b'version: 2\nethernets:\n  eth0: {dhcp4: true}\n',
    b'network:\n  version: 1\n  config: []\n',
])
def test_network_config_versions_1_and_2(value):
    assert _with_config_drive(network_config=value).network_config == value


@pytest.mark.parametrize('value, message', [
    (b'version: [', 'Network config is not YAML: '),
    (b'version: 3\n', 'network config version 1 or 2'),
    (b'version: true\n', 'network config version 1 or 2'),  # True == 1
    (b'- version: 2\n', 'network config version 1 or 2'),
    (b'\xff\xfe', 'network config version 1 or 2'),  # empty UTF-16
    (b'version: \x80\n', 'Network config is not YAML'),
    (b'[' * 30000 + b']' * 30000, 'Network config is not YAML: while '
     'increasing flow level'),
    (b'version: 2\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n',
     'Network config must not use YAML aliases.'),
])
def test_bad_network_config_is_refused(value, message):
    with pytest.raises(exception.InvalidRequest, match=re.escape(message)):
        _with_config_drive(network_config=value)


@hypothesis.given(strategies.binary(max_size=2000))
def test_any_network_config_is_accepted_as_is_or_refused_clearly(value):
    try:
        request = _with_config_drive(network_config=value)
    except exception.InvalidRequest as error:
        assert str(error).startswith('Network config ')
    else:
        assert request.network_config == (value or None)
