"""Builds and deletes as jobs on a real Redis job board, run by conductors
in this process (libvirt's test driver is shared by the process's threads):
posting, waiting or not, keep-alive, takeover, fencing, metrics."""

import contextlib
import os
import threading
import time
import urllib.request

import pytest
from taskflow.listeners import base as listener_base
from taskflow import states

from spawnflow import api
from spawnflow import conductor as spawnflow_conductor
from spawnflow import conf as spawnflow_conf
from spawnflow.drivers.volume import local as local_volume
from spawnflow import exception
from spawnflow.cli import main as cli_main
from tests import conftest
from tests.crash import checks
from tests.fixtures.metrics import value as _count
from tests.fixtures import openstack as osf


BLANK = conftest.BLANK_VOLUME


@pytest.fixture
def board_config(tmp_path, redis_server, jobboard_namespace):
    return conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state',
        extra=redis_server.config(jobboard_namespace, claim_expiry=3)
        + '[conductor]\npoll_interval = 0.1\ndefer_interval = 0.2\n')


def _client(config, name=None):
    conf = spawnflow_conf.load([config])
    if name:
        conf.set_override('name', name, group='conductor')
    return api.Client(conf=conf)


@pytest.fixture
def client(board_config):
    with _client(board_config) as client:
        client.db_sync()
        yield client


@pytest.fixture
def image(client, tmp_path):
    return client.image_create('test-image',
                               conftest.make_qcow2(tmp_path / 'i.qcow2'),
                               'qcow2')


class Running:
    """A conductor running in a thread of this process."""

    def __init__(self, config, name, metrics_port=0):
        self.client = _client(config, name)
        self.conductor = spawnflow_conductor.Conductor(
            self.client.engine, self.client.board, self.client.conf)
        self.server = (self.conductor.metrics.serve('127.0.0.1', metrics_port)
                       if metrics_port else None)
        self.thread = threading.Thread(target=self.conductor.run,
                                       name='conductor-%s' % name)
        self.thread.start()

    def stop(self):
        self.conductor.stop()
        self.thread.join(timeout=120)
        assert not self.thread.is_alive()
        if self.server is not None:
            self.server.shutdown()
        self.client.close()

    def scrape(self):
        port = self.server.server_address[1]
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics'
                                    % port, timeout=10) as answer:
            return answer.read().decode()


@contextlib.contextmanager
def conductors(config, *names, metrics=False):
    running = []
    try:
        for name in names:
            running.append(Running(config, name,
                                   osf.free_port() if metrics else 0))
        yield running
    finally:
        for one in running:
            one.stop()


class HoldAt(listener_base.Listener):
    """Blocks a flow's engine when ``task`` reaches ``state`` until
    released (the engine's own thread: no task runs meanwhile)."""

    def __init__(self, engine, task, state, reached, release):
        super().__init__(engine, task_listen_for=(state,),
                         flow_listen_for=())
        self._task, self._reached, self._release = task, reached, release

    def _task_receiver(self, state, details):
        if details['task_name'] == self._task:
            self._reached.set()
            assert self._release.wait(timeout=120)


def _executions(client, uuid, action='create'):
    """[(event, owner)] of the action's task executions, in order."""
    (found,) = [a for a in client.actions(uuid) if a['action'] == action]
    return [(e['event'], e['host']) for e in found['events']]


def test_build_and_delete_run_by_a_conductor(client, image, board_config):
    with conductors(board_config, 'c1') as (c1,):
        server = client.build('web-1', flavor='m1.tiny', image=image['id'],
                              block_devices=[
                                  'source=blank,destination=volume,size=1,'
                                  'delete-on-termination=true'])
        assert server['vm_state'] == 'active', server['fault']
        events = _executions(client, server['uuid'])
        assert {owner for _e, owner in events} == {'c1'}
        names = [e for e, _o in events]
        assert len(names) == len(set(names))  # each task once
        client.delete(server['uuid'])
        with pytest.raises(exception.InstanceNotFound):
            client.show(server['uuid'])
        assert client.jobs() == []
    assert client.services.volume.list() == []


def test_no_wait_returns_in_build_and_the_conductor_finishes(
        client, image, board_config):
    server = client.build('later', flavor='m1.tiny', image=image['id'],
                          wait=False)
    assert server['vm_state'] == 'building'
    assert server['task_state'] == 'scheduling'
    (job,) = client.jobs()
    assert (job['instance_uuid'], job['action'], job['state'],
            job['owner']) == (server['uuid'], 'create', 'UNCLAIMED', None)
    with conductors(board_config, 'c1'):
        assert client.wait(server['uuid'])['vm_state'] == 'active'
    assert client.jobs() == []


def test_no_wait_without_a_job_board_is_refused(tmp_path, capsys):
    config = conftest.write_config(tmp_path / 'local.conf', tmp_path / 's')
    assert cli_main.main(['--config-file', config, 'db', 'sync']) == 0
    assert cli_main.main(['--config-file', config, 'server', 'create',
                          '--vcpus', '1', '--ram', '64', '--disk', '1',
                          '--no-wait', 'x']) == 1
    assert 'needs a job board' in capsys.readouterr().err
    with _client(config) as local:
        assert local.list() == []


def test_cli_job_list_and_no_wait(client, image, board_config, capsys):
    assert cli_main.main(['--config-file', board_config, 'server', 'create',
                          '--flavor', 'm1.tiny', '--image', image['id'],
                          '--no-wait', '-f', 'value', '-c', 'id',
                          '-c', 'status', 'cli']) == 0
    uuid, status = capsys.readouterr().out.split()
    assert status == 'BUILD'
    assert cli_main.main(['--config-file', board_config, 'job', 'list',
                          '-f', 'value']) == 0
    listed = capsys.readouterr().out.split()
    assert listed[1:4] == [uuid, 'create', 'UNCLAIMED']
    with conductors(board_config, 'c1'):
        assert client.wait(uuid)['vm_state'] == 'active'


def test_keep_alive_holds_the_claim_through_a_long_task(
        client, image, board_config):
    """A task longer than the claim's life: the keep-alive renews it (the
    engine's thread is blocked), so the other conductor never takes it."""
    reached, release = threading.Event(), threading.Event()
    with conductors(board_config, 'slow') as (slow,):
        slow.client.engine.listener_factories.append(
            lambda engine: HoldAt(engine, 'fetch-image', states.RUNNING,
                                  reached, release))
        server = client.build('long', flavor='m1.tiny', image=image['id'],
                              wait=False)
        assert reached.wait(timeout=60)
        try:
            with conductors(board_config, 'other'):
                (held,) = slow.conductor.keepalive.held()
                # Four renewals, a third of the expiry apart: longer than
                # the claim's life.
                osf.wait_for(lambda: held.renewals >= 4, timeout=30,
                             what='four renewals of the claim')
                (job,) = client.jobs()
                assert (job['owner'], job['state']) == ('slow', 'CLAIMED')
                release.set()
                assert client.wait(server['uuid'])['vm_state'] == 'active'
        finally:
            release.set()
    events = _executions(client, server['uuid'])
    assert {owner for _e, owner in events} == {'slow'}
    assert [e for e, _o in events].count('fetch-image') == 1


def test_an_owner_that_lost_its_claim_lands_nothing(
        client, image, board_config):
    """The slow conductor stops renewing (as if paused) while its engine
    is held between two tasks; the other takes the job over after expiry
    and finishes the build. Released, the first owner's engine runs no
    further task and saves nothing: its next save meets the new token.
    That save was to carry the result of the task it was held after,
    which waits for the next task's start (one commit per task), so the
    new owner runs that task again, and the first owner's run of it
    stays open."""
    reached, release = threading.Event(), threading.Event()
    with conductors(board_config, 'paused', metrics=True) as (paused,):
        paused.client.engine.listener_factories.append(
            lambda engine: HoldAt(engine, 'build-guest-config',
                                  states.SUCCESS, reached, release))
        server = client.build('taken', flavor='m1.tiny', image=image['id'],
                              wait=False)
        assert reached.wait(timeout=60)
        paused.conductor.keepalive.stop()
        with conductors(board_config, 'taker', metrics=True) as (taker,):
            assert client.wait(server['uuid'])['vm_state'] == 'active'
            owner = client.db.flow_owner_list(server['uuid'])[0]
            assert (owner['owner'], owner['takeovers']) == ('taker', 1)
            before = _executions(client, server['uuid'])
            release.set()
            osf.wait_for(lambda: _count(paused.scrape(),
                                        'spawnflow_jobs_lost_total') == 1,
                         timeout=60, what='the paused owner to stop')
            taker_metrics = taker.scrape()
        assert _executions(client, server['uuid']) == before
        names = [e for e, o in before if o == 'paused']
        assert 'define-domain' not in names
        assert 'build-guest-config' in names
        assert [e for e, o in before if o == 'taker'][0] == (
            'build-guest-config')
        (action,) = [a for a in client.actions(server['uuid'])
                     if a['action'] == 'create']
        assert [e['finish_time'] for e in action['events']
                if (e['event'], e['host']) == ('build-guest-config',
                                               'paused')] == [None]
        assert _count(taker_metrics, 'spawnflow_jobs_taken_over_total') == 1
        assert _count(taker_metrics, 'spawnflow_flows_resumed_total',
                      '{action="create"}') == 1
        assert _count(taker_metrics, 'spawnflow_flows_finished_total',
                      '{action="create"}') == 1
        paused_metrics = paused.scrape()
        assert _count(paused_metrics, 'spawnflow_flows_started_total',
                      '{action="create"}') == 1
        assert _count(paused_metrics, 'spawnflow_flows_finished_total',
                      '{action="create"}') == 0
    assert client.jobs() == []


def _stall(obj, method, reached, release):
    """Make ``obj.method`` wait for ``release`` (after saying it was
    reached) before it does its work, as if its process were paused in the
    middle of a task, after its check of the claim."""
    real = getattr(obj, method)

    def stalled(*args, **kwargs):
        reached.set()
        assert release.wait(timeout=120)
        return real(*args, **kwargs)
    setattr(obj, method, stalled)


@pytest.mark.parametrize('driver,method', [
    ('volume', 'create'), ('volume', 'attachment_create'),
    ('virt', 'create_root_disk')])
def test_an_owner_that_lost_its_claim_mid_call_leaves_nothing_made(
        client, image, board_config, driver, method):
    """The paused owner's external call finishes after the new owner has
    built the instance: what it made is undone (a volume, an attachment)
    or never made (the root disk, already there, is kept), so the
    instance has one volume with one attachment and the disk its guest
    was started on."""
    reached, release = threading.Event(), threading.Event()
    with conductors(board_config, 'paused', metrics=True) as (paused,):
        _stall(getattr(paused.client.services, driver), method, reached,
               release)
        server = client.build('late', flavor='m1.tiny', image=image['id'],
                              block_devices=[BLANK], wait=False)
        assert reached.wait(timeout=60)
        paused.conductor.keepalive.stop()
        with conductors(board_config, 'taker'):
            try:
                server = client.wait(server['uuid'])
            finally:
                disk = os.stat(client.services.virt.root_disk_path(
                    server['uuid']))
                release.set()
            osf.wait_for(lambda: _count(paused.scrape(),
                                        'spawnflow_jobs_lost_total') == 1,
                         timeout=60, what='the paused owner to stop')
    checks.assert_active(client, client.show(server['uuid']), [1])
    (bdm,) = [b for b in client.db.bdm_list(server['uuid'])
              if b['destination_type'] == 'volume']
    (attachment,) = client.services.volume.get(bdm['volume_id'])[
        'attachments']
    assert attachment['id'] == bdm['attachment_id']
    assert os.stat(client.services.virt.root_disk_path(
        server['uuid'])).st_ino == disk.st_ino
    assert client.orphans() == []
    assert client.jobs() == []


def test_a_volume_a_lost_owner_made_while_the_new_one_builds_is_deleted(
        client, image, board_config):
    """The paused owner's volume create finishes while the new owner,
    which made and recorded its own volume, is still building: the
    paused owner's volume is deleted at once (it can never be adopted),
    not left for the orphan sweep."""
    paused_at, release_paused = threading.Event(), threading.Event()
    taker_at, release_taker = threading.Event(), threading.Event()
    with conductors(board_config, 'paused', metrics=True) as (paused,):
        _stall(paused.client.services.volume, 'create', paused_at,
               release_paused)
        server = client.build('late', flavor='m1.tiny', image=image['id'],
                              block_devices=[BLANK], wait=False)
        assert paused_at.wait(timeout=60)
        paused.conductor.keepalive.stop()
        with conductors(board_config, 'taker') as (taker,):
            taker.client.engine.listener_factories.append(
                lambda engine: HoldAt(engine, 'attach-volume-1',
                                      states.RUNNING, taker_at,
                                      release_taker))
            try:
                assert taker_at.wait(timeout=60)
                (recorded,) = [b['volume_id'] for b in client.db.bdm_list(
                    server['uuid']) if b['destination_type'] == 'volume']
                release_paused.set()
                osf.wait_for(lambda: _count(paused.scrape(),
                                            'spawnflow_jobs_lost_total') == 1,
                             timeout=60, what='the paused owner to stop')
                assert client.show(server['uuid'])['vm_state'] == 'building'
                assert [v['id'] for v in checks.volumes_of(
                    client, server['uuid'])] == [recorded]
            finally:
                release_paused.set()
                release_taker.set()
            assert client.wait(server['uuid'])['vm_state'] == 'active'
    checks.assert_active(client, client.show(server['uuid']), [1])
    assert client.orphans() == []


def test_a_local_volume_a_lost_owner_is_still_creating_is_not_adopted(
        client, image, board_config, monkeypatch):
    """The paused owner stopped inside the local volume's creation (its
    record says creating, its lock held): the new owner makes a volume of
    its own rather than wait on that one, and the paused owner, back,
    deletes the volume it finished."""
    reached, release = threading.Event(), threading.Event()
    real_qemu_img = local_volume._qemu_img
    calls = []

    def first_stalled(*args):
        calls.append(args)
        if len(calls) == 1:  # the paused owner's volume
            reached.set()
            assert release.wait(timeout=120)
        real_qemu_img(*args)
    monkeypatch.setattr(local_volume, '_qemu_img', first_stalled)
    with conductors(board_config, 'paused', metrics=True) as (paused,):
        server = client.build('late', flavor='m1.tiny', image=image['id'],
                              block_devices=[BLANK], wait=False)
        assert reached.wait(timeout=60)
        (creating,) = checks.volumes_of(client, server['uuid'])
        assert creating['status'] == 'creating'
        paused.conductor.keepalive.stop()
        with conductors(board_config, 'taker') as (taker,):
            # Adopting the paused owner's volume would wait this long.
            taker.client.conf.set_override('block_device_allocate_retries',
                                           5)
            taker.client.conf.set_override(
                'block_device_allocate_retries_interval', 1)
            try:
                assert client.wait(server['uuid'])['vm_state'] == 'active'
            finally:
                release.set()
            osf.wait_for(lambda: _count(paused.scrape(),
                                        'spawnflow_jobs_lost_total') == 1,
                         timeout=60, what='the paused owner to stop')
    checks.assert_active(client, client.show(server['uuid']), [1])
    assert creating['id'] not in [v['id'] for v in
                                  client.services.volume.list()]
    assert client.orphans() == []


def _scrape_once_consumed(conductor, jobs, timeout=30):
    """The conductor's metrics once it has consumed ``jobs`` jobs: it
    consumes a job (and counts it) after the client saw its flow end."""
    deadline = time.monotonic() + timeout
    while True:
        scrape = conductor.scrape()
        if (_count(scrape, 'spawnflow_jobs_consumed_total') >= jobs
                or time.monotonic() > deadline):
            return scrape
        threading.Event().wait(0.05)


def test_metrics_count_builds_and_reverts(client, image, board_config):
    with conductors(board_config, 'c1', metrics=True) as (c1,):
        built = [client.build('ok-%d' % n, flavor='m1.tiny',
                              image=image['id']) for n in range(3)]
        assert [s['vm_state'] for s in built] == ['active'] * 3
        conftest.fill_host(client, image['id'])
        failed = client.build('no-room', vcpus=1, ram=64, disk=1,
                              image=image['id'])
        assert failed['vm_state'] == 'error'
        client.delete(built[0]['uuid'])
        scrape = _scrape_once_consumed(c1, 6)
    assert _count(scrape, 'spawnflow_flows_started_total',
                  '{action="create"}') == 5
    assert _count(scrape, 'spawnflow_flows_finished_total',
                  '{action="create"}') == 4
    assert _count(scrape, 'spawnflow_flows_reverted_total',
                  '{action="create"}') == 1
    assert _count(scrape, 'spawnflow_flows_finished_total',
                  '{action="delete"}') == 1
    assert _count(scrape, 'spawnflow_jobs_claimed_total') == 6
    assert _count(scrape, 'spawnflow_jobs_consumed_total') == 6
    assert _count(scrape, 'spawnflow_jobs_taken_over_total') == 0
    assert _count(scrape, 'spawnflow_task_duration_seconds_count',
                  '{task="spawn"}') == 0
    assert _count(scrape, 'spawnflow_task_duration_seconds_count',
                  '{task="define-domain"}') == 4


def test_resume_posts_again_what_has_no_job(client, image, board_config,
                                            redis_server, jobboard_namespace):
    server = client.build('lost-job', flavor='m1.tiny', image=image['id'],
                          wait=False)
    # The board loses its jobs (a Redis restart without persistence).
    redis = redis_server.client()
    for key in redis.scan_iter(match='%s*' % jobboard_namespace):
        redis.delete(key)
    assert client.jobs() == []
    assert client.resume() == [(server['uuid'], 'create', api.POSTED)]
    assert client.resume() == [(server['uuid'], 'create', api.QUEUED)]
    with conductors(board_config, 'c1'):
        assert client.wait(server['uuid'])['vm_state'] == 'active'
    assert client.resume() == []


def test_an_unreachable_job_board_is_one_clear_error_and_records_nothing(
        tmp_path, image, capsys):
    config = conftest.write_config(
        tmp_path / 'down.conf', tmp_path / 'state',
        extra='[jobboard]\nbackend = redis\nport = %d\n' % osf.free_port())
    assert cli_main.main(['--config-file', config, 'server', 'create',
                          '--flavor', 'm1.tiny', '--image', image['id'],
                          'nowhere']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        'job board: redis job board at 127.0.0.1:'), err
    with _client(config) as down:
        assert down.list() == []
