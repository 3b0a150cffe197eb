"""Wake volume waits on Cinder's notifications instead of sleeping blindly.

Cinder emits ``volume.*`` notifications (``volume.create.end`` when a new
volume is ready) when its ``[oslo_messaging_notifications] driver`` is
``messagingv2``. With ``[cinder] notification_transport_url`` set, spawnflow
listens for them in a pool named after its host (so it does not take
notifications from other consumers), and a wait for a volume's status
returns as soon as Cinder says the volume changed. The capped backoff still
bounds every sleep, so a missed notification (one that another spawnflow
process on the same host consumed) only costs the next poll.
"""

import contextlib
import logging
import threading

import oslo_messaging

from spawnflow.drivers.volume import base

LOG = logging.getLogger(__name__)


class VolumeEvents:
    def __init__(self, conf):
        self._conf = conf
        self._lock = threading.Lock()
        self._waiters = {}
        self._server = None

    def _start(self):
        with self._lock:
            if self._server is not None:
                return
            conf = self._conf
            transport = oslo_messaging.get_notification_transport(
                conf, url=conf.cinder.notification_transport_url)
            self._server = oslo_messaging.get_notification_listener(
                transport,
                [oslo_messaging.Target(topic=conf.cinder.notification_topic)],
                [self], executor='threading',
                pool='spawnflow-%s' % conf.host)
            self._server.start()

    @contextlib.contextmanager
    def watch(self, volume_id):
        """Yield a Watch whose sleep returns early when a notification
        about ``volume_id`` arrives."""
        self._start()
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(volume_id, set()).add(event)

        def wait(seconds):
            event.wait(seconds)
            event.clear()
        try:
            yield base.Watch(sleep=wait, notified=True)
        finally:
            with self._lock:
                self._waiters[volume_id].discard(event)
                if not self._waiters[volume_id]:
                    del self._waiters[volume_id]

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        """Notification endpoint (info and error priorities)."""
        volume_id = (payload or {}).get('volume_id')
        if not (event_type.startswith('volume.') and volume_id):
            return
        if event_type.endswith('.start'):
            return  # the status settles at .end (or .error)
        LOG.debug('Cinder notification %s for volume %s', event_type,
                  volume_id)
        with self._lock:
            for event in self._waiters.get(volume_id, ()):
                event.set()

    error = info

    def stop(self):
        """Stop listening, once the notifications being handled are done:
        waited for without the lock, which their handler (info) takes."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
            server.wait()
