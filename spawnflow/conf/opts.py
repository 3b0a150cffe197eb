"""Entry point for oslo-config-generator (``oslo.config.opts``)."""

from spawnflow.conf import _MODULES


def list_opts():
    """Return [(group, [opts])] for every spawnflow option group."""
    merged = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return list(merged.items())
