"""``spawnflow image-cache list|clean``: which bases are in use, and removal
of old unused ones only, under the image's lock."""

import contextlib
import os
import threading
import time
import uuid as uuidlib

import pytest

from spawnflow import objects
from tests import conftest
from tests.functional.test_cli import Cli

DAY = 24 * 3600
WAIT = 60  # seconds: a bound on Event waits, never a delay
UNKNOWN_BASE = 'f' * 40  # named like a base, but no known image's


def _age(path, seconds):
    """Make ``path`` look last used ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _image(client, tmp_path, name):
    return client.image_create(
        name, conftest.make_qcow2(tmp_path / ('%s.qcow2' % name)),
        'qcow2')['id']


@pytest.fixture
def cache(client):
    return client.services.image_cache


@pytest.fixture
def cached(client, cache, tmp_path):
    """Images ``old_unused``, ``in_use`` and ``young_unused``, each with a
    base; only ``in_use`` has a live instance. ``old_unused`` and
    ``in_use`` were last used two days ago; an old base no known image
    names lies next to them."""
    images = {name: _image(client, tmp_path, name)
              for name in ('old_unused', 'in_use', 'young_unused')}
    servers = {name: client.build(name, flavor='m1.tiny', image=image_id)
               for name, image_id in images.items()}
    assert {s['vm_state'] for s in servers.values()} == {'active'}
    client.delete(servers['old_unused']['uuid'])
    client.delete(servers['young_unused']['uuid'])
    _age(cache.base_path(images['old_unused']), 2 * DAY)
    _age(cache.base_path(images['in_use']), 2 * DAY)
    unknown = os.path.join(cache.base_dir, UNKNOWN_BASE)
    with open(unknown, 'wb') as stream:
        stream.write(b'left by a database that is gone')
    _age(unknown, 2 * DAY)
    return images


@pytest.fixture
def cli(capsys, config_file, client):
    return Cli(capsys, config_file)


def _rows(result, key='Path'):
    return {row[key]: row for row in result.json()}


def test_list_shows_each_base_with_its_image_and_users(cli, cache, cached):
    rows = _rows(cli.ok('image-cache', 'list', '-f', 'json'))

    expected = {cache.base_path(image_id): (image_id, users)
                for image_id, users in ((cached['old_unused'], 0),
                                        (cached['in_use'], 1),
                                        (cached['young_unused'], 0))}
    expected[os.path.join(cache.base_dir, UNKNOWN_BASE)] = (None, 0)
    assert {path: (row['Image'], row['In Use'])
            for path, row in rows.items()} == expected
    for path, row in rows.items():
        assert row['Size'] == os.path.getsize(path)
    old = time.gmtime(os.stat(cache.base_path(cached['in_use'])).st_mtime)
    assert rows[cache.base_path(cached['in_use'])]['Last Used'] == (
        time.strftime('%Y-%m-%dT%H:%M:%S+00:00', old))


def test_clean_removes_only_old_unused_bases(cli, cache, cached):
    removable = {cache.base_path(cached['old_unused']),
                 os.path.join(cache.base_dir, UNKNOWN_BASE)}
    kept = {cache.base_path(cached['in_use']),
            cache.base_path(cached['young_unused'])}

    dry = _rows(cli.ok('image-cache', 'clean', '--dry-run', '-f', 'json'))
    assert set(dry) == removable
    assert {row['Removed'] for row in dry.values()} == {False}
    assert all(os.path.exists(path) for path in removable | kept)

    done = _rows(cli.ok('image-cache', 'clean', '-f', 'json'))
    assert set(done) == removable
    assert {row['Removed'] for row in done.values()} == {True}
    assert done[cache.base_path(cached['old_unused'])]['Image'] == (
        cached['old_unused'])
    assert not any(os.path.exists(path) for path in removable)
    assert all(os.path.exists(path) for path in kept)

    assert cli.ok('image-cache', 'clean', '-f', 'json').json() == []


def test_clean_with_no_cache_lists_nothing(cli):
    assert cli.ok('image-cache', 'list', '-f', 'json').json() == []
    assert cli.ok('image-cache', 'clean', '-f', 'json').json() == []


def test_minimum_age_comes_from_the_configuration(
        capsys, tmp_path, client, cache, cached):
    """With Nova's option at 0, the young unused base goes too."""
    config = conftest.write_config(
        tmp_path / 'eager.conf', tmp_path / 'state',
        extra='[DEFAULT]\nremove_unused_original_minimum_age_seconds = 0\n')
    eager = Cli(capsys, config)

    removed = _rows(eager.ok('image-cache', 'clean', '-f', 'json'))

    assert cache.base_path(cached['young_unused']) in removed
    assert os.path.exists(cache.base_path(cached['in_use']))


def _create_instance(client, image_id):
    """The instance row a new build writes before it fetches its image."""
    client.db.instance_create(
        str(uuidlib.uuid4()),
        objects.BuildRequest(name='late', flavor=objects.Flavor.named(
            'm1.tiny'), image_ref=image_id),
        vm_state='building', task_state='scheduling')


def _touch(client, image_id):
    """What a fetch of a cached image does under the image's lock."""
    os.utime(client.services.image_cache.base_path(image_id))


@pytest.mark.parametrize('meanwhile', [_create_instance, _touch],
                         ids=['new-instance', 'fetch'])
def test_clean_checks_again_under_the_image_lock(
        client, cache, cached, monkeypatch, meanwhile):
    """A build that uses the image while clean waits for its lock keeps
    the base: clean looks at its age and users again once it holds it."""
    image_id = cached['old_unused']
    real_lock = cache._lock
    waiting = threading.Event()

    @contextlib.contextmanager
    def observed_lock(name):
        if name == image_id:
            waiting.set()
        with real_lock(name):
            yield

    monkeypatch.setattr(cache, '_lock', observed_lock)
    removed = []
    with real_lock(image_id):
        cleaner = threading.Thread(target=lambda: removed.extend(
            cache.clean(client.db, DAY)))
        cleaner.start()
        assert waiting.wait(WAIT)
        meanwhile(client, image_id)
    cleaner.join(WAIT)

    assert not cleaner.is_alive()
    assert os.path.exists(cache.base_path(image_id))
    assert [entry['path'] for entry in removed] == [
        os.path.join(cache.base_dir, UNKNOWN_BASE)]


def test_image_users_counts_live_instances_and_image_volumes(
        client, tmp_path):
    root, volume_source = (_image(client, tmp_path, 'root'),
                           _image(client, tmp_path, 'volume-source'))
    server = client.build(
        'vm', flavor='m1.tiny', image=root, block_devices=[
            'source=image,destination=volume,size=1,uuid=%s,'
            'delete-on-termination=true' % volume_source])
    assert server['vm_state'] == 'active', server['fault']
    images = {root, volume_source}
    assert client.db.image_users(images | {'unknown'}) == {
        root: 1, volume_source: 1}
    # More ids than one statement's chunk: counted across the chunks.
    many = images | {'unknown-%04d' % n for n in range(1200)}
    assert client.db.image_users(many) == {root: 1, volume_source: 1}

    client.delete(server['uuid'])

    assert client.db.image_users(images) == {}
    assert client.db.image_ids() == images


def test_a_base_cached_without_its_image_record_is_named_from_history(
        client, cache, tmp_path):
    """A base cached before bases recorded their image: listing names it
    from the images the database knows, its live user keeps it from
    clean, and the next build that uses it records its image again."""
    image_id = _image(client, tmp_path, 'recorded-later')
    server = client.build('vm', flavor='m1.tiny', image=image_id)
    assert server['vm_state'] == 'active', server['fault']
    base = cache.base_path(image_id)
    record = os.path.join(cache.base_dir,
                          '.%s.image' % os.path.basename(base))
    with open(record) as recorded:
        assert recorded.read() == image_id
    os.unlink(record)
    _age(base, 2 * DAY)

    (entry,) = client.image_cache_list()
    assert (entry['image_id'], entry['in_use']) == (image_id, 1)
    assert client.image_cache_clean() == []

    again = client.build('vm-2', flavor='m1.tiny', image=image_id)
    assert again['vm_state'] == 'active', again['fault']
    with open(record) as recorded:
        assert recorded.read() == image_id


def test_remove_finishes_what_a_killed_fetch_or_remove_left(
        client, cache, tmp_path):
    """A fetch killed mid-download leaves its owner record and a partial
    file; a remove killed after the base went leaves the owner record.
    The owner's next remove clears both, and only the owner's does."""
    image_id = _image(client, tmp_path, 'killed')
    owner = str(uuidlib.uuid4())
    path, downloaded = cache.fetch(image_id, 1024 ** 3, owner=owner)
    assert downloaded
    os.unlink(path)  # as a remove killed between its two steps left it
    directory, name = os.path.split(path)
    partial = os.path.join(directory, '.%s.x1y2.part' % name)
    open(partial, 'wb').close()  # as a killed download left it

    assert cache.remove(image_id, owner=str(uuidlib.uuid4())) is False
    assert os.path.exists(partial) and cache.owner(image_id) == owner
    assert cache.remove(image_id, owner=owner) is False  # no base to remove
    assert os.listdir(directory) == []
