"""imagecache.write_verified: the digest and the writes in their own
thread, in order, and the first error of either side ends the whole."""

import hashlib
import io
import threading

import pytest

from spawnflow import exception
from spawnflow import imagecache

CHUNKS = [bytes([number]) * 1000 for number in range(20)]
DATA = b''.join(CHUNKS)


def _image(data=DATA, size=None):
    return {'id': 'i1', 'hash_algo': 'sha512', 'size': size,
            'hash_value': hashlib.sha512(data).hexdigest()}


def test_every_chunk_is_written_in_order_and_verified():
    out = io.BytesIO()
    seen = []
    imagecache.write_verified(_image(), iter(CHUNKS), out, len(DATA),
                              progress=lambda done, total: seen.append(done))
    assert out.getvalue() == DATA
    assert seen == [1000 * (n + 1) for n in range(20)]


def test_a_wrong_digest_is_refused_after_all_is_written():
    out = io.BytesIO()
    with pytest.raises(exception.ImageChecksumMismatch):
        imagecache.write_verified(_image(b'other'), iter(CHUNKS), out,
                                  len(DATA))
    assert out.getvalue() == DATA


class _FullDisk(io.BytesIO):
    def __init__(self, room):
        super().__init__()
        self.room = room
        self.writer_threads = set()

    def write(self, chunk):
        self.writer_threads.add(threading.current_thread().name)
        if self.tell() + len(chunk) > self.room:
            raise OSError(28, 'No space left on device')
        return super().write(chunk)


def test_a_failed_write_ends_the_download_with_its_error():
    read = []

    def chunks():
        for chunk in CHUNKS:
            read.append(chunk)
            yield chunk
    out = _FullDisk(room=5000)
    with pytest.raises(OSError, match='No space left'):
        imagecache.write_verified(_image(), chunks(), out, len(DATA))
    # The reads stop within CHUNKS_AHEAD (and the one in hand) of the
    # failed write; the writes ran in the digest's thread.
    assert len(read) <= 6 + imagecache.CHUNKS_AHEAD
    assert out.writer_threads and threading.current_thread().name not in (
        out.writer_threads)


def test_a_read_error_waits_for_the_writes_handed_over():
    out = io.BytesIO()

    def broken():
        yield from CHUNKS[:5]
        raise exception.ServiceUnavailable('Glance', 'the transfer broke')
    with pytest.raises(exception.ServiceUnavailable):
        imagecache.write_verified(_image(), broken(), out, len(DATA))
    # Nothing is written after the call returns.
    assert out.getvalue() == b''.join(CHUNKS[:5])


def test_more_than_the_disk_takes_is_refused_as_it_comes():
    out = io.BytesIO()
    with pytest.raises(exception.ImageError, match='sent more than'):
        imagecache.write_verified(_image(), iter(CHUNKS), out, 4500)
    assert len(out.getvalue()) <= 4500
