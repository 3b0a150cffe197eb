"""VolumeEvents.stop waits for the notifications being handled without
holding the lock their handler takes (a notification arriving while the
listener stops deadlocked Client.close)."""

import threading

from spawnflow.drivers.volume import events


class _Server:
    """A listener whose wait() is the end of a notification in flight:
    its handler runs in another thread, as oslo.messaging's executor's."""

    def __init__(self, listener):
        self.listener = listener
        self.handled = threading.Event()
        self.handled_in_wait = False

    def stop(self):
        pass

    def wait(self):
        def handle():
            self.listener.info({}, 'cinder', 'volume.create.end',
                               {'volume_id': 'v1'}, {})
            self.handled.set()
        handler = threading.Thread(target=handle)
        handler.start()
        handler.join(timeout=5)
        self.handled_in_wait = self.handled.is_set()


def test_stop_lets_a_notification_in_flight_finish():
    listener = events.VolumeEvents(conf=None)
    server = listener._server = _Server(listener)
    stopper = threading.Thread(target=listener.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert not stopper.is_alive()
    assert server.handled_in_wait
    assert listener._server is None
