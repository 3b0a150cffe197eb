"""qemu_img.run: the real qemu-img, its failures as one message, and
the command at debug level."""

import logging
import shutil

import pytest

from spawnflow import qemu_img

pytestmark = pytest.mark.skipif(shutil.which('qemu-img') is None,
                                reason='qemu-img (Debian qemu-utils) '
                                       'is not installed')


def test_a_disk_is_made_and_the_command_logged(tmp_path, caplog):
    disk = tmp_path / 'disk.qcow2'
    with caplog.at_level(logging.DEBUG, logger=qemu_img.__name__):
        qemu_img.run('create', '-q', '-f', 'qcow2', str(disk), '1M')
    assert disk.read_bytes()[:4] == b'QFI\xfb'
    assert 'Running cmd (subprocess): qemu-img create -q -f qcow2 %s 1M' % (
        disk) in caplog.text
    assert 'returned: 0 in' in caplog.text


def test_a_failure_says_what_qemu_img_said(tmp_path):
    with pytest.raises(qemu_img.Failed, match='Could not open'):
        qemu_img.run('info', str(tmp_path / 'missing.qcow2'))


def test_no_qemu_img_to_run_is_one_clear_failure(monkeypatch):
    monkeypatch.setenv('PATH', '')
    with pytest.raises(qemu_img.Failed, match='cannot run qemu-img'):
        qemu_img.run('--version')
