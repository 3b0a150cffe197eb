"""Drivers chosen by configuration and loaded through entry points."""

import dataclasses

from stevedore import driver as stevedore_driver


def load(namespace, name, *args):
    """Instantiate the driver registered as ``name`` in ``namespace``."""
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
        image = load('spawnflow.image_drivers', conf.image_driver, conf)
        return cls(
            virt=load('spawnflow.virt_drivers', conf.compute_driver, conf),
            image=image,
            volume=load('spawnflow.volume_drivers', conf.volume_driver,
                        conf, image))
