"""``spawnflow image-cache list|clean``: the cached base images."""

import datetime

from cliff import lister

from spawnflow import imagecache


def _time(timestamp):
    return datetime.datetime.fromtimestamp(
        timestamp, datetime.timezone.utc).isoformat(timespec='seconds')


class ListImageCache(lister.Lister):
    """List cached base images and how many live instances use each."""

    def take_action(self, parsed_args):
        client = self.app.client
        entries = client.services.image_cache.entries(
            imagecache.image_users(client.db))
        columns = ('Path', 'Image', 'Size', 'Last Used', 'In Use')
        return columns, [(e['path'], e['image_id'], e['size'],
                          _time(e['last_used']), e['in_use'])
                         for e in entries]


class CleanImageCache(lister.Lister):
    """Remove cached base images that no live instance uses and that were
    not used for remove_unused_original_minimum_age_seconds; list them."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--dry-run', action='store_true',
                            help='List what would be removed; remove '
                                 'nothing')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        removed = client.services.image_cache.clean(
            client.db,
            client.conf.remove_unused_original_minimum_age_seconds,
            dry_run=parsed_args.dry_run)
        columns = ('Path', 'Image', 'Size', 'Last Used', 'Removed')
        return columns, [(e['path'], e['image_id'], e['size'],
                          _time(e['last_used']), not parsed_args.dry_run)
                         for e in removed]
