"""Small filesystem helpers: atomic writes and JSON records."""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_file(path, mode='wb', permissions=None):
    """Yield a temporary file that replaces ``path`` only when complete.

    The data is fsynced before the rename, so after a crash ``path`` is
    either the old content or the whole new content, never a part. The
    stream's ``name`` is the temporary path, for checks before the rename.
    The file is readable by its owner only, unless ``permissions`` says.
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
        os.replace(tmp_path, path)
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
