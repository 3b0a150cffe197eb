"""What a command imports: --help and the commands that read instances
load none of the libraries a build needs (TaskFlow, the drivers' client
libraries and keystoneauth1 with requests, Flask, Graphviz's binding,
Alembic, SQLAlchemy's ORM), which cost most of a second to import; a
build still gets what it needs. Each case runs the real command in a
fresh interpreter and lists the heavy packages it loaded.
"""

import json
import subprocess
import sys

import pytest

#: What a build needs and a read does not (taskflow's states and
#: exceptions are small; its engines and storage are not).
HEAVY = ('alembic', 'cinderclient', 'eventlet', 'flask', 'futurist',
         'glanceclient', 'graphviz', 'keystoneauth1', 'libvirt',
         'openstack', 'os_brick', 'requests', 'rich', 'sqlalchemy.orm',
         'taskflow.engines', 'taskflow.persistence')

PROBE = '''
import atexit, importlib.util, json, sys
from spawnflow.cli import main

def report():
    # A module LazyLoader has not run yet is in sys.modules, as a
    # _LazyModule that any attribute access would load.
    loaded = {name for name, module in list(sys.modules.items())
              if type(module) is not importlib.util._LazyModule}
    sys.stderr.write(json.dumps(sorted(
        heavy for heavy in %r if heavy in loaded)) + '\\n')
atexit.register(report)
sys.exit(main.main(sys.argv[1:]))
'''


def _loaded(config_file, *args):
    """(exit status, heavy packages imported) of ``spawnflow ARGS``."""
    completed = subprocess.run(
        [sys.executable, '-c', PROBE % (HEAVY,), '--config-file',
         config_file, *args], capture_output=True, text=True, timeout=120)
    return completed.returncode, json.loads(completed.stderr.splitlines()[-1])


@pytest.mark.parametrize('args', [
    ['--help'], ['help'], ['server', 'list'], ['server', 'show', 'nosuch'],
    ['server', 'event', 'list', 'nosuch'],
], ids=' '.join)
def test_reading_commands_load_no_build_library(client, config_file, args):
    status, loaded = _loaded(config_file, *args)
    assert status in (0, 1)
    assert loaded == []


def test_a_command_using_the_drivers_loads_them(client, config_file):
    status, loaded = _loaded(config_file, 'image', 'list')
    assert status == 0
    assert {'libvirt', 'taskflow.engines', 'taskflow.persistence'} <= set(
        loaded)
