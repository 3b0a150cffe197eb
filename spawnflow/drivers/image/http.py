"""Image driver ``http``: an image named by an http(s) URL and its digest.

As virt-install and Terraform users give a URL and a checksum, the URL's
fragment carries the digest the data must have, and optionally the format
the data must be::

    https://example.com/images/disk.qcow2#sha256=<64 hex digits>
    https://example.com/images/disk.img#sha512=<128 hex>&disk_format=raw

The fragment is never sent to the server. The image id is the whole URL,
so the cache keys a base on the URL and its digest together.

``show()`` reads the first bytes of the data (a ranged GET, closed early)
and, with the format inspector the cache later checks the whole file with,
detects the format and virtual size and refuses what the headers show to
be unsafe; a ``disk_format`` in the fragment must agree. The server need
not send the same bytes again: every consumer of ``data()`` (the image
cache, a local volume made from the image) checks the digest as the bytes
stream, stops at a byte limit derived from the disk they are for, and
checks the whole file's format and virtual size before using it.

Bytes are taken as sent (``Accept-Encoding: identity``; an encoded answer
is refused, not decoded), and redirects are followed only to URLs that
pass the image URL's rules, on the same host, never from https to http.
"""

import dataclasses
import logging
import posixpath
import re
from urllib import parse

from oslo_utils.imageutils import format_inspector
import requests
from urllib3 import exceptions as urllib3_exceptions

from spawnflow.drivers import errors
from spawnflow.drivers.image import base
from spawnflow.drivers.image import local
from spawnflow import exception
from spawnflow import retry

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
#: Redirects followed, each held to the image URL's rules.
MAX_REDIRECTS = 5
#: Enough for every format's header (VHDX's lies at 192-256 KiB).
PROBE_SIZE = 1024 * 1024
DIGEST_LENGTHS = {'sha256': 64, 'sha512': 128}
SCHEMES = ('http', 'https')
#: The instances.image_ref column holds 255 characters, and the image
#: cache's lock file is named "spawnflow-image-<id>" (at most 255 bytes).
MAX_URL_LENGTH = 255 - len('spawnflow-image-')
#: What the format inspector calls a raw disk with a partition table.
INSPECTOR_ALIASES = {'gpt': 'raw'}
_URL_CHARACTERS = re.compile(r'[\x21-\x7e]+')
_HEX = re.compile(r'[0-9a-fA-F]+')
_DIGITS = re.compile(r'[0-9]{1,20}')


@dataclasses.dataclass(frozen=True)
class ImageURL:
    """An image reference taken apart: what to request and to expect."""

    ref: str
    url: str
    name: str
    hash_algo: str
    hash_value: str
    disk_format: str | None


def _invalid(image_ref, problem):
    return exception.InvalidRequest('Image URL %s %s' % (image_ref, problem))


def _split(image_ref, url, invalid):
    """The parts of ``url`` (the image URL, or a redirect's target), or
    ``invalid(problem)`` raised: the rules both are held to."""
    if len(url) > MAX_URL_LENGTH:
        raise exception.InvalidRequest(
            'Image URL is %d characters long; the limit is %d.'
            % (len(url), MAX_URL_LENGTH))
    if not _URL_CHARACTERS.fullmatch(url):
        raise invalid('must be printable ASCII without spaces '
                      '(percent-encode other characters).')
    try:
        parts = parse.urlsplit(url)
        parts.port
    except ValueError as error:
        raise invalid('is malformed: %s.' % error)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise invalid('must be an http:// or https:// URL with a host.')
    if parts.username is not None or parts.password is not None:
        raise invalid('must not carry credentials: the image id is stored '
                      'with the instance.')
    return parts


def parse_ref(image_ref):
    """Return the ImageURL ``image_ref`` names, or raise InvalidRequest."""
    parts = _split(image_ref, image_ref,
                   lambda problem: _invalid(image_ref, problem))
    fields = _fragment_fields(image_ref, parts.fragment)
    algos = [a for a in DIGEST_LENGTHS if a in fields]
    if len(algos) > 1:
        raise _invalid(image_ref, 'gives both sha256= and sha512=; give '
                                  'one digest.')
    if not algos:
        raise _invalid(image_ref, 'needs the digest of its data in the '
                                  'fragment: #sha256=<64 hex digits> or '
                                  '#sha512=<128 hex digits>.')
    algo = algos[0]
    value = fields[algo]
    if len(value) != DIGEST_LENGTHS[algo] or not _HEX.fullmatch(value):
        raise _invalid(image_ref, 'has a %s digest of %d characters; it '
                                  'must be %d hex digits.'
                       % (algo, len(value), DIGEST_LENGTHS[algo]))
    disk_format = fields.get('disk_format')
    if disk_format is not None and disk_format not in local.DISK_FORMATS:
        raise _invalid(image_ref, 'names disk_format %r; it must be one of '
                                  '%s.' % (disk_format,
                                           ', '.join(local.DISK_FORMATS)))
    path = parse.unquote(parts.path)
    return ImageURL(ref=image_ref, url=parse.urldefrag(image_ref).url,
                    name=posixpath.basename(path) or parts.hostname,
                    hash_algo=algo, hash_value=value.lower(),
                    disk_format=disk_format)


def _fragment_fields(image_ref, fragment):
    fields = {}
    for key, value in parse.parse_qsl(fragment, keep_blank_values=True):
        if key not in DIGEST_LENGTHS and key != 'disk_format':
            raise _invalid(image_ref, 'has %r in its fragment; expected '
                                      'sha256= or sha512=, and optionally '
                                      'disk_format=.' % key)
        if key in fields:
            raise _invalid(image_ref, 'gives %s= twice.' % key)
        fields[key] = value
    return fields


def check_redirect(image, current, target):
    """A redirect from ``current`` to ``target`` is followed only if the
    target passes the image URL's own rules, stays on the same host and
    does not leave https for http: the server chose it, not the user."""
    def refused(problem):
        return exception.ImageError(
            'Image %s: the server redirected to %s, which %s'
            % (image.ref, target, problem))
    parts = _split(image.ref, target, refused)
    origin = parse.urlsplit(current)
    if parts.hostname != origin.hostname:
        raise refused('is another host; give that URL instead.')
    if origin.scheme == 'https' and parts.scheme != 'https':
        raise refused('leaves https.')


class HTTPImageDriver(base.ImageDriver):
    """Calls that fail transiently (no connection, a timeout, 5xx) are
    retried ``[http_image] num_retries`` times; a download that breaks
    raises ServiceUnavailable, and its consumer downloads again."""

    def __init__(self, conf):
        self._timeout = conf.http_image.timeout
        self._verify = conf.http_image.cafile or True
        self.retry = retry.Policy.from_conf(conf,
                                            conf.http_image.num_retries)

    def _get(self, image, headers=None):
        """GET the image's URL (streamed, not decoded), following valid
        redirects; raise on anything but 2xx."""
        headers = dict(headers or {}, **{'Accept-Encoding': 'identity',
                                         'User-Agent': 'spawnflow'})
        url = image.url
        for _redirect in range(MAX_REDIRECTS + 1):
            try:
                response = requests.get(
                    url, headers=headers, stream=True, timeout=self._timeout,
                    verify=self._verify, allow_redirects=False)
            except requests.RequestException as error:
                raise self._error(image, error)
            if not response.is_redirect:
                break
            target = parse.urljoin(url, response.headers['Location'])
            response.close()
            check_redirect(image, url, target)
            url = target
        else:
            raise exception.ImageError('Image %s: more than %d redirects.'
                                       % (image.ref, MAX_REDIRECTS))
        if response.ok:
            encoding = response.headers.get('Content-Encoding', 'identity')
            if encoding.strip().lower() not in ('', 'identity'):
                response.close()
                raise exception.ImageError(
                    'Image %s: the server sent it with Content-Encoding %s '
                    'though asked for identity; it is refused.'
                    % (image.ref, encoding))
            return response
        response.close()
        if response.status_code in (404, 410):
            raise exception.ImageNotFound(image.ref)
        message = 'the server answered %d %s.' % (response.status_code,
                                                  response.reason)
        if response.status_code in errors.TRANSIENT_STATUS:
            raise exception.ServiceUnavailable('Image %s' % image.ref,
                                               message)
        raise exception.ImageError('Image %s: %s' % (image.ref, message))

    def _error(self, image, error):
        if isinstance(error, requests.Timeout):
            return exception.ServiceUnavailable(
                'Image %s' % image.ref, 'the server did not answer within '
                '%d seconds.' % self._timeout)
        if isinstance(error, requests.exceptions.SSLError):
            return exception.ImageError('Image %s cannot be downloaded: %s'
                                        % (image.ref, errors.reason(error)))
        return exception.ServiceUnavailable(
            'Image %s' % image.ref, 'cannot be downloaded: %s'
            % errors.reason(error))

    def show(self, image_id):
        image = parse_ref(image_id)
        return self.retry.call('reading the start of image %s' % image_id,
                               self._probe, image)

    def _probe(self, image):
        """The image's metadata, from its first bytes."""
        with self._get(image, {'Range': 'bytes=0-%d' % (PROBE_SIZE - 1)}) \
                as response:
            size = _total_size(response)
            try:
                inspector = _detect(self._chunks(image, response))
                if inspector.complete:
                    # Headers alone show most unsafe images (a qcow2
                    # backing file); the cache checks the whole file.
                    inspector.safety_check()
            except (format_inspector.ImageFormatError,
                    format_inspector.SafetyCheckFailed) as error:
                raise exception.ImageError('Image %s is refused: %s'
                                           % (image.ref, error))
        detected = INSPECTOR_ALIASES.get(inspector.NAME, inspector.NAME)
        if detected not in local.DISK_FORMATS:
            raise exception.ImageError(
                'Image %s is a %s image; supported disk formats are %s.'
                % (image.ref, detected, ', '.join(local.DISK_FORMATS)))
        if image.disk_format and image.disk_format != detected:
            raise exception.ImageError(
                'Image %s: the URL says disk_format=%s but the data is %s.'
                % (image.ref, image.disk_format, detected))
        virtual_size = (size if detected == 'raw'
                        else inspector.virtual_size or None)
        return {'id': image.ref, 'name': image.name, 'status': 'active',
                'disk_format': detected, 'size': size,
                'virtual_size': virtual_size, 'hash_algo': image.hash_algo,
                'hash_value': image.hash_value}

    def list(self):
        """URLs are not enumerable: no images are listed."""
        return []

    def data(self, image_id):
        """The image's bytes as the server sent them (never decoded). The
        digest is the consumer's to check as they stream (the image cache
        and the volume drivers do)."""
        image = parse_ref(image_id)
        # Not retried here: the consumer retries the whole download.
        response = self._get(image)
        LOG.info('Downloading image %s', image.url)
        return self._closing(image, response)

    def _closing(self, image, response):
        with response:
            yield from self._chunks(image, response)

    def _chunks(self, image, response):
        """The raw body; a transfer that stalls or breaks raises
        ServiceUnavailable."""
        try:
            yield from response.raw.stream(CHUNK_SIZE, decode_content=False)
        except (requests.RequestException,
                urllib3_exceptions.HTTPError) as error:
            raise exception.ServiceUnavailable(
                'Image %s' % image.ref, 'the transfer %s.'
                % errors.transfer_failure(error, self._timeout)) from error


def _total_size(response):
    """The whole image's size from a 200 or a 206 answer, if it says."""
    if response.status_code == 206:
        total = response.headers.get('Content-Range', '').rpartition('/')[2]
    else:
        total = response.headers.get('Content-Length', '')
    return int(total) if _DIGITS.fullmatch(total) else None


def _detect(chunks):
    """The format inspector matching the first PROBE_SIZE bytes."""
    wrapper = format_inspector.InspectWrapper(_prefix(chunks, PROBE_SIZE))
    try:
        for _chunk in wrapper:
            if wrapper.format is not None:
                break
    finally:
        wrapper.close()
    return wrapper.format


def _prefix(chunks, limit):
    for chunk in chunks:
        if limit <= 0:
            return
        yield chunk[:limit]
        limit -= len(chunk)
