"""``spawnflow image-cache list|clean``: the cached base images."""

import datetime

from spawnflow.cli import base


def _time(timestamp):
    return datetime.datetime.fromtimestamp(
        timestamp, datetime.timezone.utc).isoformat(timespec='seconds')


class ListImageCache(base.Lister):
    """List cached base images and how many live instances use each."""

    def take_action(self, parsed_args):
        entries = self.app.client.image_cache_list()
        columns = ('Path', 'Image', 'Size', 'Last Used', 'In Use')
        return columns, [(e['path'], e['image_id'], e['size'],
                          _time(e['last_used']), e['in_use'])
                         for e in entries]


class CleanImageCache(base.Lister):
    """Remove old cached base images that no live instance uses.

    Old: not used for remove_unused_original_minimum_age_seconds. The
    removed bases are listed.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--dry-run', action='store_true',
                            help='List what would be removed; remove '
                                 'nothing')
        return parser

    def take_action(self, parsed_args):
        removed = self.app.client.image_cache_clean(
            dry_run=parsed_args.dry_run)
        columns = ('Path', 'Image', 'Size', 'Last Used', 'Removed')
        return columns, [(e['path'], e['image_id'], e['size'],
                          _time(e['last_used']), not parsed_args.dry_run)
                         for e in removed]
