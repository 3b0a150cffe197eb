"""Image driver ``http``: an image given as an http(s) URL (placeholder;
being written)."""

from spawnflow.drivers.image import base
from spawnflow import exception


class HTTPImageDriver(base.ImageDriver):
    def __init__(self, conf):
        self.conf = conf

    def show(self, image_id):
        raise exception.ImageNotFound(image_id)

    def list(self):
        return []

    def data(self, image_id):
        raise exception.ImageNotFound(image_id)
