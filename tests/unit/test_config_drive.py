"""The config drive: NoCloud's files on an ISO 9660 image labelled cidata."""

import io

import hypothesis
from hypothesis import strategies
import pytest
import yaml

from spawnflow.drivers.virt import config_drive
from tests.fixtures import config_drive as config_drive_reader

UUID = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f'


def _write(tmp_path, name='web-1', user_data=None, network_config=None):
    path = tmp_path / 'disk.config'
    with open(path, 'wb') as stream:
        config_drive.write(stream, {'uuid': UUID, 'display_name': name},
                           user_data, network_config)
    return config_drive_reader.read(str(path))


def test_files_and_label(tmp_path):
    user_data = b'#cloud-config\n\x00\xff binary \xfe too\n'
    network = b'version: 2\nethernets: {}\n'
    files, label = _write(tmp_path, user_data=user_data,
                          network_config=network)
    assert label == 'cidata'
    assert yaml.safe_load(files['meta-data']) == {
        'instance-id': UUID, 'local-hostname': 'web-1'}
    assert files['user-data'] == user_data
    assert files['network-config'] == network


def test_no_user_data_is_an_empty_file_and_no_network_config(tmp_path):
    files, _label = _write(tmp_path)
    assert files['user-data'] == b''
    assert 'network-config' not in files


@pytest.mark.parametrize('name, expected', [
    ('web-1', 'web-1'),
    ('My Web_Server.example', 'my-web-server-example'),
    ('caf\u00e9 \u2603', 'cafe'),
    ('--x--', 'x'),
    ('a' * 80, 'a' * 63),
    ('\u2603\u2603', 'server-' + UUID),
    ('<script>&"\'', 'script'),
])
def test_hostname_as_nova_sanitizes_it(name, expected):
    assert config_drive.hostname(name, UUID) == expected


@hypothesis.given(strategies.text(min_size=1, max_size=300))
def test_any_name_gives_a_valid_hostname(name):
    hostname = config_drive.hostname(name, UUID)
    assert 0 < len(hostname) <= 63 or hostname == 'server-' + UUID
    assert set(hostname) <= set('abcdefghijklmnopqrstuvwxyz0123456789-')
    assert not hostname.startswith('-') and not hostname.endswith('-')


@hypothesis.given(strategies.text(max_size=300))
def test_meta_data_is_yaml_with_the_id_whatever_the_name(name):
    data = config_drive.meta_data({'uuid': UUID, 'display_name': name})
    assert yaml.safe_load(io.BytesIO(data))['instance-id'] == UUID
