"""The tiny test guest is built reproducibly: the same bytes from the same
Debian packages, in another directory, at another time zone and umask."""

import os
import shutil
import subprocess

import pytest


BUILD = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                     'tools', 'tiny-guest', 'build.sh')


def _manifest(directory):
    with open(os.path.join(directory, 'tiny-guest.manifest')) as stream:
        return dict(line.split(' ', 1) for line in stream.read().splitlines()
                    if line and not line.startswith(('#', 'package ')))


def test_a_second_build_gives_the_same_bytes(tiny_guest, tmp_path):
    built = os.path.dirname(tiny_guest)
    if not os.path.isfile(os.path.join(built, 'tiny-guest.manifest')):
        pytest.skip('no manifest beside %s (not built by build.sh)'
                    % tiny_guest)
    again = tmp_path / 'again'
    # The same packages (the cache is checked against apt's sha256).
    shutil.copytree(os.path.join(built, 'packages'), again / 'packages')
    result = subprocess.run(
        ['bash', BUILD, str(again)], capture_output=True, text=True,
        timeout=600, env=dict(os.environ, TZ='America/New_York'),
        preexec_fn=lambda: os.umask(0o077))
    assert result.returncode == 0, result.stderr
    assert _manifest(again)['sha256'] == _manifest(built)['sha256']
    image = again / 'tiny-guest.qcow2'
    with open(image, 'rb') as new, open(tiny_guest, 'rb') as old:
        assert new.read() == old.read()
    # Up to date now: a second call does nothing.
    mtime = image.stat().st_mtime_ns
    subprocess.run(['bash', BUILD, str(again)], check=True, timeout=600,
                   capture_output=True)
    assert image.stat().st_mtime_ns == mtime
