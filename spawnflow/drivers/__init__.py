"""Drivers chosen by configuration and loaded through entry points."""

import dataclasses
import importlib.metadata

from stevedore import driver as stevedore_driver

from spawnflow import exception
from spawnflow import objects

#: The option that names each namespace's driver.
OPTIONS = {'spawnflow.virt_drivers': 'compute_driver',
           'spawnflow.image_drivers': 'image_driver',
           'spawnflow.volume_drivers': 'volume_driver'}


def load(namespace, name, *args):
    """Instantiate the driver registered as ``name`` in ``namespace``; a
    name none is registered as is refused, listing those that are."""
    names = sorted({entry_point.name for entry_point in
                    importlib.metadata.entry_points(group=namespace)})
    if name not in names:
        raise exception.InvalidConfig(
            '[DEFAULT] %s = %s: no such driver (valid: %s).'
            % (OPTIONS[namespace], name, ', '.join(names)))
    manager = stevedore_driver.DriverManager(
        namespace, name, invoke_on_load=True, invoke_args=args,
        on_load_failure_callback=_reraise)
    return manager.driver


def _reraise(_manager, entrypoint, error):
    raise error


@dataclasses.dataclass
class Drivers:
    """The virt, image and volume drivers a process builds with."""

    virt: object
    image: object
    volume: object

    @classmethod
    def from_conf(cls, conf):
        image = ImageRouter(
            load('spawnflow.image_drivers', conf.image_driver, conf),
            load('spawnflow.image_drivers', 'http', conf))
        return cls(
            virt=load('spawnflow.virt_drivers', conf.compute_driver, conf),
            image=image,
            volume=load('spawnflow.volume_drivers', conf.volume_driver,
                        conf, image))


class ImageRouter:
    """Images named by an http(s) URL come from the ``http`` driver; every
    other image reference goes to the configured image driver."""

    URL_PREFIXES = objects.IMAGE_URL_PREFIXES

    def __init__(self, default, http):
        self.default = default
        self.http = http

    def _driver(self, image_ref):
        if image_ref.startswith(self.URL_PREFIXES):
            return self.http
        return self.default

    def show(self, image_ref):
        return self._driver(image_ref).show(image_ref)

    def data(self, image_ref):
        return self._driver(image_ref).data(image_ref)

    def retry_policy(self, image_ref):
        """How a download of the image is retried (its driver's policy)."""
        return self._driver(image_ref).retry

    def list(self):
        return self.default.list()

    def __getattr__(self, name):
        # Store-specific calls (create, delete, path_of) of the default.
        return getattr(self.default, name)
