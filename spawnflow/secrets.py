"""One masking step for what spawnflow logs or stores.

oslo.utils knows the keys OpenStack uses for secrets (``password``,
``auth_password``, ``secret``, ``token``, ``chapsecret`` ...) and masks
them in dicts and in text (JSON, ``key=value``, XML). Volume connection
info carries two more that it lacks: Ceph's ``keyring`` and object
stores' ``access_key``. Everything below uses oslo.utils first, then masks
those keys the same ways.

Logs: keystoneauth logs every response body at DEBUG (an attachment's
connection info with its CHAP password among them); ``install_log_filter``
masks the records of the loggers that write service traffic, whichever
handler takes them, and the command line masks every record of its own
handlers.
"""

import logging
import re

from spawnflow import lazy

strutils = lazy.module('oslo_utils.strutils')

MASK = '***'
#: Secret keys oslo.utils' mask functions do not know.
EXTRA_KEYS = ('keyring', 'access_key')
#: Loggers that write what services answered (keystoneauth's split
#: loggers included) and so can carry their secrets.
SERVICE_LOGGERS = ('keystoneauth.session', 'keystoneauth.session.request',
                   'keystoneauth.session.response',
                   'keystoneauth.session.body', 'cinderclient.client',
                   'glanceclient.common.http',
                   'oslo_messaging.notify.listener')


def _patterns(key):
    """Where a value of ``key`` stands: JSON or Python dicts ("key":
    "value"), key=value and key: value (with or without quotes), XML."""
    return [re.compile(pattern, re.IGNORECASE) for pattern in (
        r'([\'"][^\'"]*%s[^\'"]*[\'"]\s*:\s*[ub]?[\'"])[^\'"]*([\'"])' % key,
        r'([\w-]*%s[\w-]*\s*[=:]\s*[\'"]?)[^\s\'",&;]+([\'"]?)' % key,
        r'(<%s>)[^<]*(</%s>)' % (key, key))]


_EXTRA_PATTERNS = [pattern for key in EXTRA_KEYS
                   for pattern in _patterns(key)]


def is_secret_key(key):
    """Whether a dict key names a secret (oslo.utils' keys and EXTRA_KEYS).

    oslo.utils keeps its key list private; asking its dict masker about
    the key is its public way of telling.
    """
    if not isinstance(key, str):
        return False
    lowered = key.lower()
    return (any(extra in lowered for extra in EXTRA_KEYS)
            or strutils.mask_dict_password({key: ''})[key] == MASK)


def mask_text(text):
    """``text`` with the values of secret keys replaced by ***."""
    masked = strutils.mask_password(text, secret=MASK)
    if any(key in masked.lower() for key in EXTRA_KEYS):
        for pattern in _EXTRA_PATTERNS:
            masked = pattern.sub(r'\g<1>%s\g<2>' % MASK, masked)
    return masked


def mask_dict(values):
    """A copy of ``values`` (nested dicts and lists too) with the values
    of secret keys replaced by *** and secrets in strings masked."""
    if isinstance(values, dict):
        return {key: MASK if is_secret_key(key) else mask_dict(value)
                for key, value in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(mask_dict(value) for value in values)
    if isinstance(values, str):
        return mask_text(values)
    return values


def without_secrets(values):
    """A copy of ``values`` without its secret keys (in nested dicts and
    lists too; what is stored must not even carry a mask for them), and
    with secrets inside its strings masked (``-o password=...``)."""
    if isinstance(values, dict):
        return {key: without_secrets(value) for key, value in values.items()
                if not is_secret_key(key)}
    if isinstance(values, (list, tuple)):
        return type(values)(without_secrets(value) for value in values)
    if isinstance(values, str):
        return mask_text(values)
    return values


def masked_failure(failure):
    """A TaskFlow Failure whose texts are masked; the same object when
    there is nothing to mask."""
    values = failure.to_dict(include_args=True)
    masked = mask_dict(values)
    return failure if masked == values else type(failure).from_dict(masked)


class MaskingFilter(logging.Filter):
    """Masks the secrets in a record's message and in its traceback."""

    def filter(self, record):
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(
                logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


_FILTER = MaskingFilter()


def install_log_filter():
    """Mask the records of the loggers that write service traffic, in
    this process (idempotent)."""
    for name in SERVICE_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
