"""Small filesystem helpers: atomic writes, JSON records, opening a
user-named file safely."""

import contextlib
import json
import os
import stat
import tempfile


@contextlib.contextmanager
def atomic_file(path, mode='wb', permissions=None, replace=True):
    """Yield a temporary file that replaces ``path`` only when complete.

    The data is fsynced before the rename, so after a crash ``path`` is
    either the old content or the whole new content, never a part. The
    stream's ``name`` is the temporary path, for checks before the rename.
    The file is readable by its owner only, unless ``permissions`` says.
    With ``replace`` false, a file already at ``path`` is kept and
    FileExistsError raised (the temporary file is linked there, not
    renamed).
    """
    handle, tmp_path = tempfile.mkstemp(
        dir=os.path.dirname(path), prefix='.%s.' % os.path.basename(path),
        suffix='.part')
    os.close(handle)
    try:
        with open(tmp_path, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        if permissions is not None:
            os.chmod(tmp_path, permissions)
        if replace:
            os.replace(tmp_path, path)
        else:
            os.link(tmp_path, path)
            os.unlink(tmp_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise


def write_json(path, record):
    with atomic_file(path, 'w') as stream:
        json.dump(record, stream, indent=1, sort_keys=True)


def read_json(path):
    with open(path) as stream:
        return json.load(stream)


def remove(path):
    """Delete ``path`` if it exists; True when something was removed.

    A parent that is not a directory means there is nothing to remove.
    """
    try:
        os.unlink(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False


def user_file_permissions():
    """The permissions a file the user asked for gets (0666 less this
    process's umask), as open() would give it."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('Umask:'):
                return 0o666 & ~int(line.split()[1], 8)
    return 0o644


class NotRegularFile(Exception):
    """What stands at a path is no regular file; ``kind`` says what."""

    def __init__(self, path, kind):
        super().__init__('%s is a %s' % (path, kind))
        self.kind = kind


def open_regular_file(path):
    """(binary stream, os.stat_result) of the regular file ``path``.

    The open never waits (a FIFO without a writer), and anything but a
    regular file raises NotRegularFile before a byte is read; the open's
    own errors are OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, _file_kind(info.st_mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, 'rb'), info
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode):
    for test, kind in ((stat.S_ISDIR, 'directory'),
                       (stat.S_ISCHR, 'character device'),
                       (stat.S_ISBLK, 'block device'),
                       (stat.S_ISFIFO, 'pipe'), (stat.S_ISSOCK, 'socket')):
        if test(mode):
            return kind
    return 'special file'
