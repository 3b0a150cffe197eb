"""``spawnflow conductor``: claims build and delete jobs from the job board
and runs them against the shared database.

TaskFlow's job board holds the jobs and the claims; this module is the
conductor around it. TaskFlow's stock conductors claim without an expiry
(a dead conductor's job stays claimed forever), keep nothing alive and run
flows on engines of their own; here:

- a job is claimed with an expiry (``[jobboard] claim_expiry``), and a
  keep-alive thread renews the claims of every job the conductor runs
  every third of it, however long a task takes; a job whose claim is gone
  (the board names another owner, or renewing failed for a whole expiry)
  is *lost*: its flow's fence refuses every further write and its engine
  stops at the next task boundary;
- the flow runs on the process's one engine (spawnflow.engine), which
  claims it in the database (a new fencing token) before anything runs,
  so an owner that lost its claim without knowing lands nothing;
- a job waits while a job of the same instance posted before it is on
  the board (a delete waits for its build);
- stopping (SIGTERM, Ctrl-C) lets the running tasks finish, gives the
  jobs back and exits: another conductor continues them from their last
  saved task.
"""

from concurrent import futures
import logging
import threading
import time

from taskflow import exceptions as tf_exceptions
from taskflow import states

from spawnflow import exception
from spawnflow import execution
from spawnflow import jobboard
from spawnflow import metrics as spawnflow_metrics

LOG = logging.getLogger(__name__)


class MustWait(exception.SpawnflowError):
    """An earlier job of the same instance is to run first."""


class HeldJob:
    """A job this conductor claimed, and the fence of the flow it runs."""

    def __init__(self, job):
        self.job = job
        self.renewed = time.monotonic()
        #: How many times the keep-alive renewed the claim.
        self.renewals = 0
        self.lost = False
        self._fence = None
        self._lock = threading.Lock()

    def attach(self, fence):
        """The fence of the flow the job now runs (a job may run several:
        a delete finishes the build first)."""
        with self._lock:
            self._fence = fence
            lost = self.lost
        if lost:
            fence.lose()

    def lose(self):
        with self._lock:
            self.lost = True
            fence = self._fence
        if fence is not None:
            fence.lose()


class KeepAlive(threading.Thread):
    """Renews the claims of the jobs a conductor runs, from its own thread,
    every third of their expiry; loses the jobs whose claim is gone."""

    def __init__(self, board, owner, expiry):
        super().__init__(name='spawnflow-keepalive', daemon=True)
        self._board = board
        self._owner = owner
        self._expiry = expiry
        self._held = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def held(self):
        """The jobs whose claims are being kept alive."""
        with self._lock:
            return list(self._held.values())

    def hold(self, job):
        held = HeldJob(job)
        with self._lock:
            self._held[job.uuid] = held
        return held

    def release(self, job):
        with self._lock:
            self._held.pop(job.uuid, None)

    def run(self):
        while not self._stopped.wait(self._expiry / 3.0):
            with self._lock:
                held = list(self._held.values())
            for job in held:
                self.renew(job)

    def renew(self, held):
        try:
            owner = jobboard.owner_of(self._board, held.job)
            if owner == self._owner:
                if hasattr(held.job, 'extend_expiry'):
                    held.job.extend_expiry(self._expiry)
                held.renewed = time.monotonic()
                held.renewals += 1
                return
            LOG.warning('Lost the claim on job %s (%s): its owner is now '
                        '%s; leaving it.', held.job.uuid, held.job.name,
                        owner or 'nobody')
        except Exception as error:
            if time.monotonic() - held.renewed < self._expiry:
                LOG.warning('Cannot renew the claim on job %s: %s',
                            held.job.uuid, error)
                return
            LOG.warning('Could not renew the claim on job %s for %s s (%s): '
                        'it has expired; leaving it.', held.job.uuid,
                        self._expiry, error)
        held.lose()

    def stop(self):
        self._stopped.set()


class Conductor:
    """Claims jobs from ``board`` and runs them on ``engine``."""

    def __init__(self, engine, board, conf, metrics=None):
        self.engine = engine
        self.board = board
        self.name = engine.owner
        self.metrics = metrics or spawnflow_metrics.Metrics()
        engine.metrics = self.metrics
        engine.listener_factories.append(self.metrics.listener)
        self._expiry = conf.jobboard.claim_expiry
        self._expiring_claims = conf.jobboard.backend == 'redis'
        self._max_jobs = conf.conductor.max_jobs
        self._poll_interval = conf.conductor.poll_interval
        self._defer_interval = conf.conductor.defer_interval
        # The standard library's pool (see engine.Engine): stopping does
        # not wait for idle workers to poll.
        self._workers = futures.ThreadPoolExecutor(
            max_workers=2 * self._max_jobs,
            thread_name_prefix='spawnflow-job')
        # Jobs running, and jobs given back to wait (until when); the
        # claiming loop and the workers share both, under the lock.
        self._active = {}
        self._deferred = {}
        self._active_lock = threading.Lock()
        self._stopping = threading.Event()
        self.keepalive = KeepAlive(board, self.name, self._expiry)

    def run(self):
        """Claim and run jobs until stop(); then let the running tasks
        finish, give the unfinished jobs back, and return."""
        LOG.info('Conductor %s claiming jobs (claims live %s s)', self.name,
                 self._expiry)
        self.keepalive.start()
        try:
            while not self._stopping.is_set():
                try:
                    self._claim_jobs()
                except (tf_exceptions.JobFailure,
                        exception.SpawnflowError) as error:
                    LOG.warning('Cannot read the job board: %s', error)
                self._stopping.wait(self._poll_interval)
        finally:
            LOG.info('Conductor %s stopping: finishing the running tasks',
                     self.name)
            self.engine.suspend()
            self._workers.shutdown(wait=True)
            self.keepalive.stop()

    def stop(self):
        """Stop claiming; run() then winds down. (Safe in a signal
        handler: it only sets an event.)"""
        self._stopping.set()

    def _claim_jobs(self):
        """Claim what this conductor has room for: work begun by an owner
        that is gone first (it holds volumes and claims; it may go up to
        twice max_jobs), then the oldest jobs. Reads the board's listing
        once, and asks for a job's claim only when it has room for it."""
        now = time.monotonic()
        with self._active_lock:
            if len(self._active) >= 2 * self._max_jobs:
                return  # no room even for begun work: leave the board be
            skipped = set(self._active) | {
                uuid for uuid, until in self._deferred.items() if until > now}
            self._deferred = {uuid: until for uuid, until in
                              self._deferred.items() if until > now}
        jobs = [job for job in self.board.iterjobs(ensure_fresh=True)
                if job.uuid not in skipped]
        begun = self.engine.services.db.flow_postings_started(
            {job.details.get('posting') for job in jobs})
        jobs.sort(key=lambda job: (job.details.get('posting') not in begun,
                                   job.sequence))
        for job in jobs:
            limit = self._max_jobs * (
                2 if job.details.get('posting') in begun else 1)
            with self._active_lock:
                if self._stopping.is_set() or len(self._active) >= limit:
                    continue
            if job.state != states.UNCLAIMED:
                continue
            try:
                if self._expiring_claims:
                    self.board.claim(job, self.name, expiry=self._expiry)
                else:
                    self.board.claim(job, self.name)
            except (tf_exceptions.UnclaimableJob, tf_exceptions.NotFound):
                continue  # another conductor was faster
            self.metrics.jobs_claimed.inc()
            held = self.keepalive.hold(job)
            with self._active_lock:
                self._active[job.uuid] = held
            self._workers.submit(self._run_job, held)

    def _run_job(self, held):
        job = held.job
        try:
            if held.lost:  # lost before it began (this process was paused)
                return self._lost(job)
            state = self._perform(held)
        except exception.ClaimLost:
            return self._lost(job)
        except MustWait as error:
            LOG.debug('Job %s waits: %s', job.uuid, error)
            return self._give_back(job, defer=True)
        except (exception.ServiceUnavailable, exception.DatabaseError,
                tf_exceptions.StorageFailure) as error:
            LOG.warning('Job %s (%s) could not be run now, giving it back: '
                        '%s', job.uuid, job.name, error)
            return self._give_back(job, defer=True)
        except exception.SpawnflowError as error:
            # The instance carries the fault; `spawnflow resume` posts
            # again what is left unfinished.
            LOG.warning('Job %s (%s) failed: %s', job.uuid, job.name, error)
            state = states.FAILURE
        if held.lost:
            # Lost while its flow ended without a write the fence could
            # refuse (another owner had finished it): not ours to consume.
            return self._lost(job)
        if state == states.SUSPENDED:
            self.metrics.jobs_released.inc()
            return self._give_back(job)
        try:
            self.board.consume(job, self.name)
            self.metrics.jobs_consumed.inc()
        except (tf_exceptions.JobFailure, tf_exceptions.NotFound) as error:
            LOG.warning('Job %s ended %s but could not be consumed: %s',
                        job.uuid, state, error)
        self._forget(job)

    def _lost(self, job):
        self.metrics.jobs_lost.inc()
        LOG.warning('Job %s (%s) was taken over by another conductor; left '
                    'to it.', job.uuid, job.name)
        self._forget(job)

    def _perform(self, held):
        details = held.job.details
        uuid = details['instance_uuid']
        earlier = [other for other in jobboard.jobs(self.board, uuid)
                   if other.sequence < held.job.sequence]
        if earlier:
            raise MustWait('job %s of instance %s first'
                           % (earlier[0].name, uuid))
        owner = self.engine.services.db.flow_owner_list(uuid)
        postings = {o['posting'] for o in owner}
        if details['action'] == 'create' and \
                details['posting'] not in postings:
            LOG.info('Job %s is a stale copy; its flow has another job',
                     held.job.uuid)
            return states.SUCCESS

        def on_claim(fence):
            held.attach(fence)
            if fence.taken_over:
                self.metrics.jobs_taken_over.inc()

        if details['action'] == 'create':
            return execution.create(self.engine, details['flow_uuid'],
                                    on_claim)
        return execution.delete(self.engine, uuid, on_claim,
                                posting=details['posting'])

    def _give_back(self, job, defer=False):
        try:
            self.board.abandon(job, self.name)
        except (tf_exceptions.JobFailure, tf_exceptions.NotFound) as error:
            LOG.warning('Could not give job %s back: %s', job.uuid, error)
        if defer:
            with self._active_lock:
                self._deferred[job.uuid] = (time.monotonic()
                                            + self._defer_interval)
        self._forget(job)

    def _forget(self, job):
        self.keepalive.release(job)
        with self._active_lock:
            self._active.pop(job.uuid, None)
