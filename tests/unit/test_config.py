"""Configuration: the sample file is current; load() reports bad files."""

import os
import pathlib
import subprocess
import sys

from oslo_config import cfg
import pytest

from spawnflow import conf as spawnflow_conf

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATOR_CONFIG = REPO_ROOT / 'etc' / 'oslo-config-generator' / \
    'spawnflow.conf'
SAMPLE = REPO_ROOT / 'etc' / 'spawnflow' / 'spawnflow.conf.sample'


def _generator_command():
    """The venv's console script, else the module it runs."""
    script = os.path.join(os.path.dirname(sys.executable),
                          'oslo-config-generator')
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, '-m', 'oslo_config.generator']


def test_sample_config_is_current(tmp_path):
    output = tmp_path / 'spawnflow.conf.sample'
    result = subprocess.run(
        _generator_command() + ['--config-file', str(GENERATOR_CONFIG),
                                '--output-file', str(output)],
        cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert output.read_text() == SAMPLE.read_text(), (
        '%s is stale: run `make sample-config` and commit the result.'
        % SAMPLE.relative_to(REPO_ROOT))


def test_sample_config_lists_every_group():
    text = SAMPLE.read_text()
    for group in ('[DEFAULT]', '[database]', '[libvirt]', '[local_image]',
                  '[local_volume]'):
        assert group in text


def test_missing_file_raises_not_found(tmp_path):
    missing = tmp_path / 'nope.conf'
    with pytest.raises(cfg.ConfigFilesNotFoundError) as info:
        spawnflow_conf.load([str(missing)])
    assert str(missing) in str(info.value)


def test_unparseable_file_raises_parse_error(tmp_path):
    bad = tmp_path / 'bad.conf'
    bad.write_text('[DEFAULT]\nthis line has no equals sign\n')
    with pytest.raises(cfg.ConfigFileParseError) as info:
        spawnflow_conf.load([str(bad)])
    assert str(bad) in str(info.value)


def test_invalid_value_is_refused_on_access(tmp_path):
    path = tmp_path / 'spawnflow.conf'
    path.write_text('[DEFAULT]\nblock_device_allocate_retries = many\n')
    conf = spawnflow_conf.load([str(path)])
    with pytest.raises(ValueError):
        conf.block_device_allocate_retries


def test_defaults_follow_nova(tmp_path):
    empty = tmp_path / 'empty.conf'
    empty.write_text('')
    conf = spawnflow_conf.load([str(empty)])
    assert conf.block_device_allocate_retries == 60
    assert conf.block_device_allocate_retries_interval == 3
    assert conf.libvirt.connection_uri == 'test:///default'
    assert conf.compute_driver == 'libvirt'
    assert conf.instances_path == os.path.join(conf.state_path,
                                               'instances')
    assert conf.database.connection == (
        'sqlite:///%s/spawnflow.sqlite' % conf.state_path)


def test_file_values_override_defaults(tmp_path):
    path = tmp_path / 'spawnflow.conf'
    path.write_text('[DEFAULT]\nstate_path = %s\n'
                    'block_device_allocate_retries = 7\n'
                    '[libvirt]\nconnection_uri = qemu:///system\n'
                    % tmp_path)
    conf = spawnflow_conf.load([str(path)])
    assert conf.block_device_allocate_retries == 7
    assert conf.libvirt.connection_uri == 'qemu:///system'
    assert conf.local_volume.volumes_path == str(tmp_path / 'volumes')


def test_each_load_is_independent(tmp_path):
    first = tmp_path / 'a.conf'
    first.write_text('[DEFAULT]\nblock_device_allocate_retries = 1\n')
    second = tmp_path / 'b.conf'
    second.write_text('[DEFAULT]\nblock_device_allocate_retries = 2\n')
    conf_a = spawnflow_conf.load([str(first)])
    conf_b = spawnflow_conf.load([str(second)])
    assert conf_a.block_device_allocate_retries == 1
    assert conf_b.block_device_allocate_retries == 2
    assert conf_a is not cfg.CONF
