"""The wait for the guest's boot marker, on libvirt's test driver (which
runs no guest, so the tests write its console log themselves)."""

import pytest

from spawnflow import exception

MARKER = r'^Cloud-init v\. \S+ finished at '
FINISHED = b'Cloud-init v. 23.1 finished at now. Up 2.5 seconds\n'


@pytest.fixture
def server(client, image):
    server = client.build('guest', flavor='m1.tiny', image=image['id'])
    assert server['vm_state'] == 'active', server['fault']
    return server


def _console(client, server, data):
    with open(client.services.virt.console_log_path(server['uuid']),
              'wb') as log:
        log.write(data)


def test_the_marker_line_is_returned(client, server):
    _console(client, server, b'booting\n' + FINISHED + b'more\n')
    assert client.services.virt.wait_for_boot(
        server['uuid'], MARKER, timeout=600) == FINISHED.decode().strip()


@pytest.mark.parametrize('stop, state', [('destroy', 'shutoff'),
                                         ('suspend', 'paused')])
def test_a_guest_that_stops_first_fails_at_once(client, server, stop,
                                                state):
    """Powered off, or paused (as KVM pauses a guest it cannot run),
    without the marker: no wait for the timeout (600 s)."""
    _console(client, server, b'booting\nKernel panic\n')
    getattr(client.services.virt.conn.lookupByUUIDString(server['uuid']),
            stop)()
    with pytest.raises(exception.GuestNotBooted,
                       match='is %s and never printed its boot marker'
                       % state):
        client.services.virt.wait_for_boot(server['uuid'], MARKER,
                                           timeout=600)


def test_a_guest_that_prints_the_marker_and_powers_off_has_booted(
        client, server):
    """The marker is written and the domain shuts off between the look at
    the console and the look at the domain's state."""
    virt = client.services.virt
    state = virt.state

    def marker_then_poweroff(uuid):
        _console(client, server, FINISHED)
        virt.destroy(uuid)
        return state(uuid)
    virt.state = marker_then_poweroff
    try:
        assert virt.wait_for_boot(server['uuid'], MARKER, timeout=600) == (
            FINISHED.decode().strip())
    finally:
        del virt.state


def test_a_timeout_quotes_nothing_the_guest_printed(client, server):
    """The fault counts the console's lines; it does not quote them (a
    guest may echo its user-data)."""
    _console(client, server, b'password: hunter2\n' * 3)
    with pytest.raises(exception.GuestNotBooted) as error:
        client.services.virt.wait_for_boot(server['uuid'], MARKER,
                                           timeout=1)
    assert str(error.value) == (
        'Guest %s did not print its boot marker within 1 seconds (its '
        'console has 3 lines; `spawnflow console log` shows them while the '
        'server exists).' % server['uuid'])
