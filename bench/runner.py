"""The benchmarks' one runner: cases measured round by round, interleaved.

A case measures one sample (a rate, or seconds) when called. Every round
runs every case once, in an order that rotates from round to round, after
one untimed warm-up round, so that what the machine does meanwhile (other
load, caches, the CPU's clock) falls on all cases alike. Before each
sample, untimed, the garbage of the cases before is collected and their
writes are flushed to disk (a 512 MiB download leaves dirty pages whose
writeback would otherwise land on the next case, whichever it is). Each case's
median is then compared with its baseline's, a case of the same group
measured in the same rounds, and with its goal where it has one.

With each sample goes the CPU this process and its children used over
its wall time, in cores: a case that uses one core at most is held by
Python's global interpreter lock, not by the machine's two cores.

The benchmark modules (persistence, builds, startup, history, images)
each give cases(setup); bench/run.py (make bench) runs them all, and
each module's own main runs its own.
"""

import argparse
import contextlib
import dataclasses
import gc
import os
import pathlib
import resource
import shutil
import statistics
import sys
import tempfile
import time
import typing

REPO = pathlib.Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for tests.fixtures (the test servers)


@dataclasses.dataclass
class Case:
    group: str
    name: str
    #: Returns one sample, in ``unit``.
    measure: typing.Callable[[], float]
    unit: str
    #: The name of the case of the same group this one is compared with.
    baseline: str | None = None
    #: (operator, value) the ratio to the baseline (or to ``goal_against``)
    #: must meet, or with ``absolute`` the median itself.
    goal: tuple[str, float] | None = None
    goal_against: str | None = None
    absolute: bool = False
    note: str = ''


class Setup:
    """What cases share: a work directory and the servers they need,
    started once when first asked for, stopped at the end."""

    def __init__(self, workdir, stack):
        self.workdir = workdir
        self.stack = stack
        self._postgresql = None

    def directory(self, name):
        path = self.workdir / name
        path.mkdir()
        return path

    def postgresql_url(self, purpose):
        """A fresh database on 127.0.0.1:5432 when it lets postgres in,
        else on a private server (fsync off: faster than a real one)."""
        from tests.fixtures import postgresql
        if self._postgresql is None:
            try:
                self._postgresql = postgresql.system_server()
            except postgresql.Unavailable:
                private = postgresql.PrivateServer()
                self._postgresql = private.start()
                self.stack.callback(private.stop)
        return self.stack.enter_context(self._postgresql.database(purpose))


def _cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + children.ru_utime
            + children.ru_stime)


def measure(cases, rounds, log=sys.stderr):
    """{case name: ([samples], [cores])}, one warm-up round untimed."""
    results = {(case.group, case.name): ([], []) for case in cases}
    for number in range(rounds + 1):
        shift = number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            gc.collect()
            os.sync()
            cpu, wall = _cpu(), time.perf_counter()
            sample = case.measure()
            cores = (_cpu() - cpu) / (time.perf_counter() - wall)
            if number:
                results[(case.group, case.name)][0].append(sample)
                results[(case.group, case.name)][1].append(cores)
        print('round %d of %d done%s' % (number, rounds,
                                         ' (warm-up)' if not number else ''),
              file=log, flush=True)
    return results


def _met(value, goal):
    operator, bound = goal
    return value >= bound if operator == '>=' else value <= bound


def table(cases, results):
    """The results as text: per group, each case's median, its ratio to
    its baseline and whether it meets its goal."""
    lines = []
    group = None
    for case in cases:
        if case.group != group:
            group = case.group
            lines += ['', group,
                      '  %-44s %10s %-7s %7s %6s  %s' % (
                          'case', 'median', 'unit', 'ratio', 'cores',
                          'goal')]
        samples, cores = results[(case.group, case.name)]
        median = statistics.median(samples)

        def against(name):
            return median / statistics.median(results[(case.group,
                                                       name)][0])
        ratio = '' if case.baseline is None else '%.2fx' % against(
            case.baseline)
        goal = ''
        if case.goal is not None:
            if case.absolute:
                value, what = median, case.unit
            else:
                name = case.goal_against or case.baseline
                value, what = against(name), 'x ' + name
            goal = '%s %g %s: %.2f, %s' % (
                case.goal[0], case.goal[1], what, value,
                'met' if _met(value, case.goal) else 'NOT MET')
        lines.append('  %-44s %10.4g %-7s %7s %6.2f  %s' % (
            case.name, median, case.unit, ratio, statistics.median(cores),
            goal))
        if case.note:
            lines.append('      (%s)' % case.note)
    return '\n'.join(lines[1:])


def main(*case_sources, description=None):
    """Run the cases of ``case_sources`` (functions of a Setup returning
    cases) and print the table."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    (REPO / 'build').mkdir(exist_ok=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='spawnflow-bench-',
                                            dir=REPO / 'build'))
    try:
        with contextlib.ExitStack() as stack:
            setup = Setup(workdir, stack)
            cases = []
            for source in case_sources:
                cases += source(setup)
            results = measure(cases, args.rounds)
            print('%d rounds, cases interleaved, medians' % args.rounds)
            print(table(cases, results))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
