"""The dashboard in a real headless Chromium (Debian's chromium, driven
through its chromedriver): the page of a build held in fetch-image shows
the running and pending tasks, then, without a reload, every task
succeeded; the page of a build failing at start-domain shows the failed
task and the reverted ones. Node states are read from the page's DOM
(the SVG's node classes and the task table); screenshots are saved."""

import shutil
import threading

import pytest
from selenium import webdriver
from selenium.webdriver.chrome import options as chrome_options
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.support import ui

from spawnflow import conf as spawnflow_conf
from spawnflow import dashboard
from spawnflow import faultinject
from spawnflow import inspection
from tests import conftest
from tests.functional import transitions

BLANK = conftest.BLANK_VOLUME
SHAPE = [(0, 'image', 'local'), (1, 'blank', 'volume'),
         (2, 'blank', 'volume')]
#: Seconds the page may take to show a change (it polls every 0.2 s).
FOLLOWS_WITHIN = 30

#: (task name, classes) of every node of the diagram, and (task, state)
#: of every row of the task table, as the page's DOM holds them.
READ_STATES = """
const nodes = Array.from(document.querySelectorAll('#flow svg g.node'))
  .map(g => [g.querySelector('title').textContent, g.getAttribute('class')]);
const rows = Array.from(document.querySelectorAll('#flow tr[data-task]'))
  .map(tr => [tr.dataset.task, tr.dataset.state]);
return [nodes, rows];
"""


@pytest.fixture(scope='module')
def browser():
    chromium, driver_path = shutil.which('chromium'), shutil.which(
        'chromedriver')
    if not (chromium and driver_path):
        pytest.skip('Debian\'s chromium and chromium-driver are not '
                    'installed (make system-packages installs them)')
    options = chrome_options.Options()
    options.binary_location = chromium
    for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                     '--disable-dev-shm-usage', '--window-size=1400,2200'):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=chrome_service.Service(driver_path),
                              options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(client, config_file):
    conf = spawnflow_conf.load([config_file])
    conf.set_override('refresh_interval', 0.2, group='dashboard')
    reader = inspection.Reader(conf)
    server = dashboard.serve(reader, conf, '127.0.0.1', 0)
    yield server.url
    server.shutdown()
    reader.close()


def _states(browser):
    """{task: its node's state classes} and {task: its row's state}."""
    nodes, rows = browser.execute_script(READ_STATES)
    classes = {name: set(value.split()) - {'node'} for name, value in nodes}
    return classes, dict(rows)


def _wait_for(browser, condition, what):
    """The page's states once ``condition(classes, rows)`` holds."""
    ui.WebDriverWait(browser, FOLLOWS_WITHIN, poll_frequency=0.1).until(
        lambda driver: condition(*_states(driver)), message=what)
    return _states(browser)


def _status(browser):
    return browser.execute_script(
        "return document.querySelector('#flow h1 .status').textContent;")


def _screenshot(browser, path):
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_the_page_follows_a_running_build(browser, page, client, image,
                                          tmp_path):
    held, release, built = threading.Event(), threading.Event(), []

    def hold():
        held.set()
        assert release.wait(120)
    transitions.at(client, 'fetch-image', 'RUNNING', hold)
    builder = threading.Thread(target=lambda: built.append(client.build(
        'followed', flavor='m1.tiny', image=image['id'],
        block_devices=[BLANK, BLANK])))
    builder.start()
    try:
        assert held.wait(60), 'the build never reached fetch-image'
        (instance,) = client.list()
        browser.get(page + 'servers/%s' % instance['uuid'])
        names = [atom.name for atom in inspection.plan('create',
                                                       SHAPE).atoms]
        running = names.index('fetch-image')
        classes, rows = _wait_for(
            browser, lambda classes, rows: classes.get('fetch-image') ==
            {'state-running'}, 'fetch-image shown running')
        assert sorted(classes) == sorted(names)
        assert [classes[name] for name in names] == (
            [{'state-success'}] * running + [{'state-running'}]
            + [{'state-pending'}] * (len(names) - running - 1))
        assert [rows[name] for name in names] == (
            ['SUCCESS'] * running + ['RUNNING']
            + ['PENDING'] * (len(names) - running - 1))
        assert _status(browser) == 'BUILD'
        _screenshot(browser, tmp_path / 'running.png')
        browser.execute_script('window.spawnflowSamePage = true;')
    finally:
        release.set()
        builder.join(timeout=120)
    assert built and built[0]['vm_state'] == 'active'

    classes, rows = _wait_for(
        browser, lambda classes, rows: set(rows.values()) == {'SUCCESS'},
        'every task shown succeeded')
    assert all(value == {'state-success'} for value in classes.values())
    assert browser.execute_script('return window.spawnflowSamePage;') is True
    ui.WebDriverWait(browser, FOLLOWS_WITHIN).until(
        lambda driver: _status(driver) == 'ACTIVE',
        message='the server shown ACTIVE')
    _screenshot(browser, tmp_path / 'finished.png')


def test_the_page_of_a_failed_build_marks_the_failure_and_reverts(
        browser, page, client, image, tmp_path, monkeypatch):
    monkeypatch.setenv(faultinject.FAIL_ENV, 'start-domain')
    server = client.build('failing', flavor='m1.tiny', image=image['id'],
                          block_devices=[BLANK])
    assert server['vm_state'] == 'error'
    browser.get(page + 'servers/%s' % server['uuid'])
    names = [atom.name for atom in inspection.plan(
        'create', SHAPE[:2]).atoms]
    failed = names.index('start-domain')
    classes, rows = _states(browser)
    assert classes['start-domain'] == {'state-reverted', 'failed'}
    assert [classes[name] for name in names[:failed]] == [
        {'state-reverted'}] * failed
    assert [classes[name] for name in names[failed + 1:]] == [
        {'state-pending'}] * (len(names) - failed - 1)
    assert browser.execute_script(
        "return Array.from(document.querySelectorAll('#flow tr.failed'))"
        ".map(tr => tr.dataset.task);") == ['start-domain']
    assert browser.execute_script(
        "return document.querySelectorAll('#flow svg g.edge.revert-path')"
        ".length;") == failed
    _screenshot(browser, tmp_path / 'failed.png')

    browser.get(page)
    listed = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.servers tbody "
        "tr')).map(tr => [tr.querySelector('a').textContent, "
        "tr.dataset.status]);")
    assert listed == [['failing', 'ERROR']]
