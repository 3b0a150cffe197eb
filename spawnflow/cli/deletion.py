"""Deleting several resources as OpenStackClient does: every one that can
be, each failure reported on a line of its own, then how many failed."""

import logging

from spawnflow import exception
from spawnflow.cli import base

LOG = logging.getLogger(__name__)


def delete_each(kind, refs, delete):
    """Call ``delete(ref)`` for every ref; raise, once all were tried, a
    SpawnflowError saying how many failed (an interruption stops at once).
    """
    failed = 0
    for ref in refs:
        try:
            delete(ref)
        except exception.Interrupted:
            raise
        except exception.SpawnflowError as error:
            failed += 1
            LOG.error('Failed to delete %s with name or ID %r: %s',
                      kind, ref, error)
    if failed:
        raise exception.SpawnflowError('%d of %d %ss failed to delete.'
                                       % (failed, len(refs), kind))


class DeleteCommand(base.Command):
    """A ``KIND delete REF [REF ...]`` command: subclasses name the
    ``kind`` and delete one resource, given by name or ID, in
    ``delete_one``."""

    kind = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('refs', nargs='+', metavar=self.kind,
                            help='%s to delete, name or ID (repeatable)'
                                 % self.kind.capitalize())
        return parser

    def delete_one(self, parsed_args, ref):
        raise NotImplementedError

    def take_action(self, parsed_args):
        delete_each(self.kind, parsed_args.refs,
                    lambda ref: self.delete_one(parsed_args, ref))
