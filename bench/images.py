"""What an image costs a build: warm cache by image size, cold from Glance.

- warm cache: a build (libvirt's test driver, local image store, SQLite)
  whose image is already in the cache, for the 12 MB tiny guest and for a
  1 GiB qcow2 (random data, fully allocated); the ratio is 1 GiB / 12 MB.
  A build takes about 0.1 s, so each sample is the median of WARM_BUILDS
  builds (one build's time moves by 20% from one to the next here).
- cold download: a 512 MiB image (random data) from a real Glance on
  loopback (started here, the tests' own fixture), its checksum verified,
  three ways:

  - spawnflow: the fetch-image task of a real build (its action event's
    start to finish: the download through glanceclient's session, the
    sha512 check, the format check and the progress it reports), the
    cache emptied before each;
  - ``glance image-download --file`` (python-glanceclient's own CLI,
    which verifies the hash as it downloads);
  - ``curl -o`` (no check);

  and the ratios: glance CLI / spawnflow (throughput, goal >= 1.5) and
  spawnflow / curl (time, goal <= 1.3).

The glance CLI's time includes its Python start-up (about 0.5 s), as a
user running it pays it.

    SPAWNFLOW_OPENSTACK_VENVS=.venv-openstack .venv/bin/python \
        bench/images.py [--rounds 5]
"""

import contextlib
import os
import pathlib
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from spawnflow import api  # noqa: E402
from spawnflow import conf as spawnflow_conf  # noqa: E402
from tests.fixtures import openstack as services  # noqa: E402

import runner  # noqa: E402 (bench/runner.py)

WARM = 'warm-cache build (test driver, local image store, SQLite)'
COLD = ('cold download of a 512 MiB image from a real Glance on loopback, '
        'checksum verified')

MiB = 1024 ** 2
TINY_GUEST = REPO / 'build' / 'tiny-guest' / 'tiny-guest.qcow2'
BIN = pathlib.Path(sys.executable).parent
TOKEN = 'bench-token'
#: Builds per warm-cache sample.
WARM_BUILDS = 5


def _random_file(path, size):
    with open(path, 'wb') as out:
        for _ in range(size // MiB):
            out.write(os.urandom(MiB))
    return path


def _client(workdir, name, extra=''):
    config = workdir / ('%s.conf' % name)
    config.write_text('\n'.join([
        '[DEFAULT]', 'state_path = %s' % (workdir / name),
        '[database]',
        'connection = sqlite:///%s' % (workdir / ('%s.sqlite' % name)),
        extra]) + '\n')
    client = api.Client(conf=spawnflow_conf.load([str(config)]))
    client.db_sync()
    return client


def _timed_build(client, image_id):
    """(seconds of the build, seconds of its fetch-image task); the
    server is deleted after (untimed)."""
    started = time.perf_counter()
    server = client.build('bench', flavor='m1.small', image=image_id)
    elapsed = time.perf_counter() - started
    assert server['vm_state'] == 'active', server['fault']
    (action,) = [a for a in client.actions(server['uuid'])
                 if a['action'] == 'create']
    (fetch,) = [e for e in action['events'] if e['event'] == 'fetch-image']
    client.delete(server['uuid'])
    return elapsed, (fetch['finish_time']
                     - fetch['start_time']).total_seconds()


def _warm_cases(setup):
    workdir = setup.directory('warm')
    client = setup.stack.enter_context(contextlib.closing(
        _client(workdir, 'warm')))
    big_raw = _random_file(workdir / 'big.raw', 1024 * MiB)
    big = workdir / 'big.qcow2'
    subprocess.run(['qemu-img', 'convert', '-O', 'qcow2', str(big_raw),
                    str(big)], check=True)
    big_raw.unlink()
    small = '12 MB image (tiny guest)'
    images = {small: client.image_create('tiny', str(TINY_GUEST),
                                         'qcow2')['id'],
              '1 GiB image': client.image_create('big', str(big),
                                                 'qcow2')['id']}
    for image_id in images.values():
        _timed_build(client, image_id)  # fills the cache

    def warm_build(image_id):
        return statistics.median(_timed_build(client, image_id)[0]
                                 for _ in range(WARM_BUILDS))
    return [runner.Case(WARM, name, lambda i=image_id: warm_build(i), 's',
                        baseline=None if name == small else small,
                        goal=None if name == small else ('<=', 1.10))
            for name, image_id in images.items()]


def _cold_cases(setup):
    workdir = setup.directory('cold')
    try:
        glance = setup.stack.enter_context(services.Glance(
            services.DEFAULT_VENV_ROOT / 'glance', workdir / 'glance'))
    except services.ServiceUnavailable as error:
        print('cold download: skipped: %s' % error, file=sys.stderr)
        return []
    client = setup.stack.enter_context(contextlib.closing(_client(
        workdir, 'cold', '\n'.join([
            '[DEFAULT]', 'image_driver = glance',
            '[glance]', 'auth_type = admin_token',
            'endpoint = %s' % glance.endpoint, 'token = %s' % TOKEN]))))
    import glanceclient
    glance_client = glanceclient.Client('2', endpoint=glance.endpoint,
                                        token=TOKEN)
    image = glance_client.images.create(
        name='bench-512', disk_format='raw', container_format='bare')
    with open(_random_file(workdir / 'image.raw', 512 * MiB), 'rb') as data:
        glance_client.images.upload(image['id'], data)
    target = workdir / 'download'

    def spawnflow():
        client.services.image_cache.remove(image['id'])
        return _timed_build(client, image['id'])[1]

    glance_cli = _command([BIN / 'glance', '--os-image-url', glance.endpoint,
                           '--os-auth-token', TOKEN, 'image-download',
                           '--file', target, image['id']])
    curl = _command(['curl', '-sSf', '-o', target, '-H',
                     'X-Auth-Token: ' + TOKEN, '%s/v2/images/%s/file'
                     % (glance.endpoint, image['id'])])
    return [
        runner.Case(COLD, 'curl -o (no check)', curl, 's'),
        runner.Case(COLD, 'glance image-download (the client CLI)',
                    glance_cli, 's', baseline='curl -o (no check)'),
        runner.Case(COLD, 'spawnflow fetch-image', spawnflow, 's',
                    baseline='curl -o (no check)', goal=('<=', 1.3)),
        runner.Case(COLD, 'spawnflow fetch-image, against the glance CLI',
                    spawnflow, 's',
                    baseline='glance image-download (the client CLI)',
                    goal=('<=', 1 / 1.5),
                    note='time ratio: <= 0.67 is >= 1.5x the throughput'),
    ]


def cases(setup):
    return _warm_cases(setup) + _cold_cases(setup)


def _command(argv):
    def run():
        started = time.perf_counter()
        subprocess.run([str(arg) for arg in argv], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - started
    return run


if __name__ == '__main__':
    runner.main(cases, description=__doc__.splitlines()[0])
