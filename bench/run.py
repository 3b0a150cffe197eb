"""make bench: every speed and scale case, interleaved round by round.

The persistence of a 5-task flow and of the build flow (memory, stock
SQL and spawnflow's backend, on a SQLite file and on PostgreSQL), builds
at once, the CLI's start-up, reads with 10 and with many finished builds,
warm-cache builds by image size and a cold download from a real Glance:
each case measured once per round, the order rotating, then one table of
medians, ratios to each case's baseline and goals (bench/runner.py).

    SPAWNFLOW_OPENSTACK_VENVS=.venv-openstack .venv/bin/python \\
        bench/run.py [--rounds 5]

Each module also runs its own cases alone (bench/persistence.py, ...).
"""

import builds
import history
import images
import persistence
import runner
import startup

if __name__ == '__main__':
    runner.main(persistence.cases, builds.cases, startup.cases,
                history.cases, images.cases,
                description=__doc__.splitlines()[0])
