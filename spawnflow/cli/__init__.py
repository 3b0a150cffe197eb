"""The ``spawnflow`` command line, in OpenStackClient's style (cliff)."""
