"""Bounded retries with backoff for the transient failures of a service.

Drivers write each operation as an idempotent unit (a create first looks
for what an earlier attempt may have made, a delete of what is gone is
done) and run it through ``call``: a unit that raises ServiceUnavailable
runs again after a capped exponential wait, at most ``retries`` more
times; any other error is raised at once.
"""

import logging

import tenacity

from spawnflow import exception
from spawnflow import secrets

LOG = logging.getLogger(__name__)


class Policy:
    """How often, and how patiently, calls to one service are retried."""

    def __init__(self, retries, interval, max_interval):
        self.retries = retries
        self.interval = interval
        self.max_interval = max_interval

    @classmethod
    def from_conf(cls, conf, retries):
        """``retries`` (the service's own option) with [DEFAULT]'s waits."""
        return cls(retries, conf.service_retry_interval,
                   conf.service_max_retry_interval)

    def call(self, what, unit, *args, **kwargs):
        """``unit(*args, **kwargs)``, retried on ServiceUnavailable.

        The first attempt is a plain call: most succeed, and the retrying
        machinery would cost a database call a sixth of its time. Only a
        failed one makes it, whose first attempt gives that failure back.
        """
        try:
            return unit(*args, **kwargs)
        except exception.ServiceUnavailable as error:
            if not self.retries:
                raise
            failures = [error]

        def attempt():
            if failures:
                raise failures.pop()
            return unit(*args, **kwargs)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(
                exception.ServiceUnavailable),
            stop=tenacity.stop_after_attempt(self.retries + 1),
            wait=tenacity.wait_exponential(multiplier=self.interval,
                                           max=self.max_interval),
            before_sleep=lambda state: LOG.info(
                '%s failed (%s); attempt %d of %d in %.1f s', what,
                secrets.mask_text(str(state.outcome.exception())),
                state.attempt_number + 1, self.retries + 1,
                state.next_action.sleep),
            reraise=True)
        return retrying(attempt)
