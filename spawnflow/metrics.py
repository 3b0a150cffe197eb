"""Prometheus metrics of a conductor (prometheus-client), served on a
loopback port: flows started, finished, failed, reverted and resumed per
action; each task's duration; jobs claimed, consumed, released, taken
over and lost."""

import re
import threading
import time

import prometheus_client
from taskflow.listeners import base as listener_base
from taskflow import states

#: create-volume-3 -> create-volume: one series per task, not per device.
_INDEX = re.compile(r'-\d+$')


class Metrics:
    """One registry of its own (a process may hold several conductors)."""

    def __init__(self):
        self.registry = prometheus_client.CollectorRegistry()

        def counter(name, help, labels=()):
            return prometheus_client.Counter(
                name, help, labels, registry=self.registry)

        self.flows_started = counter(
            'spawnflow_flows_started', 'Flows started from their first '
            'task', ['action'])
        self.flows_resumed = counter(
            'spawnflow_flows_resumed', 'Flows resumed from their last saved '
            'task (after a crash, a takeover or a release)', ['action'])
        self.flows_finished = counter(
            'spawnflow_flows_finished', 'Flows that ended SUCCESS',
            ['action'])
        self.flows_reverted = counter(
            'spawnflow_flows_reverted', 'Flows that failed and were undone '
            '(REVERTED)', ['action'])
        self.flows_failed = counter(
            'spawnflow_flows_failed', 'Flows whose undo failed too (FAILURE: '
            'left for resume)', ['action'])
        self.jobs_claimed = counter(
            'spawnflow_jobs_claimed', 'Jobs this conductor claimed')
        self.jobs_consumed = counter(
            'spawnflow_jobs_consumed', 'Jobs done and removed from the board')
        self.jobs_released = counter(
            'spawnflow_jobs_released', 'Jobs given back unfinished (stopping, '
            'or waiting for another job of the instance)')
        self.jobs_taken_over = counter(
            'spawnflow_jobs_taken_over', 'Jobs claimed whose flow another '
            'owner had run (dead, paused or stopped)')
        self.jobs_lost = counter(
            'spawnflow_jobs_lost', 'Jobs whose claim this conductor lost '
            'while it ran them (another took them over)')
        self.task_duration = prometheus_client.Histogram(
            'spawnflow_task_duration_seconds', 'Seconds each task\'s '
            'execution took', ['task'], registry=self.registry,
            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30,
                     60, 120, 300, 600))

    def flow_started(self, action, resumed):
        (self.flows_resumed if resumed else self.flows_started).labels(
            action).inc()

    def flow_ended(self, action, state):
        counter = {states.SUCCESS: self.flows_finished,
                   states.REVERTED: self.flows_reverted,
                   states.FAILURE: self.flows_failed}.get(state)
        if counter is not None:
            counter.labels(action).inc()

    def listener(self, engine):
        """A TaskFlow listener timing the tasks of one flow."""
        return TaskDurationListener(engine, self.task_duration)

    def serve(self, host, port):
        """Serve /metrics on host:port; returns the server (shutdown())."""
        server, _thread = prometheus_client.start_http_server(
            port, addr=host, registry=self.registry)
        return server


class TaskDurationListener(listener_base.Listener):
    def __init__(self, engine, histogram):
        super().__init__(engine, task_listen_for=(
            states.RUNNING, states.SUCCESS, states.FAILURE),
            flow_listen_for=())
        self._histogram = histogram
        self._started = {}
        self._lock = threading.Lock()

    def _task_receiver(self, state, details):
        name = details['task_name']
        with self._lock:
            if state == states.RUNNING:
                self._started[name] = time.monotonic()
                return
            started = self._started.pop(name, None)
        if started is not None:
            self._histogram.labels(_INDEX.sub('', name)).observe(
                time.monotonic() - started)
