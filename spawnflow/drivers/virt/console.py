"""A guest's serial console log: its last lines, and a watch for a line.

What a guest prints is untrusted: lines are decoded leniently, terminal
escape sequences, control characters and the invisible ones that reorder
or hide text (bidirectional overrides, zero-width spaces) are removed
before anything shows them, and no more than ``MAX_BYTES`` of the end of
a log is read.
"""

import os
import re

#: The most of a console log's end that is read (Nova's MAX_CONSOLE_BYTES).
MAX_BYTES = 100 * 1024
#: ANSI/VT100 escape sequences (CSI, OSC, and two-character ones).
_ESCAPE = re.compile(r'\x1b(\[[0-?]*[ -/]*[@-~]'     # CSI: colours, moves
                     r'|\][^\x07\x1b]*(\x07|\x1b\\)'  # OSC: titles
                     r'|[ -/]*[0-~])')               # the others (RIS...)
#: The most of a log one look reads (the rest waits for the next).
_READ_BYTES = 1024 * 1024
_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f-\x9f'
                      r'\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]')
#: The most of a matching line Watch.find returns.
MAX_LINE = 255


def printable(line):
    """``line`` without escape sequences, control characters or invisible
    formatting characters (a tab stays)."""
    return _CONTROL.sub('', _ESCAPE.sub('', line.rstrip('\r\n')))


def tail(path, lines=None, max_bytes=MAX_BYTES):
    """The last ``lines`` lines (all, None) of the last ``max_bytes`` of
    the log at ``path``, printable; [] when there is no log yet."""
    try:
        with open(path, 'rb') as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - max_bytes))
            data = log.read(max_bytes)
    except FileNotFoundError:
        return []
    text = data.decode('utf-8', 'replace').splitlines()
    if size > max_bytes and text:
        text = text[1:]  # the first line read is cut
    if lines is not None:
        text = text[-lines:] if lines else []
    return [printable(line) for line in text]


class Watch:
    """Finds the first line matching ``pattern`` in a growing log, reading
    each byte once (from the start again when the log is another file,
    rotated by virtlogd, or was truncated, as when the domain starts
    again)."""

    def __init__(self, path, pattern):
        self.path = path
        self.pattern = re.compile(pattern)
        self._file = None
        self._offset = 0
        self._partial = b''

    def find(self):
        """The first matching line seen so far (printable, at most
        MAX_LINE characters), or None. Raises PermissionError when the
        log cannot be read."""
        try:
            with open(self.path, 'rb') as log:
                status = os.fstat(log.fileno())
                if ((status.st_dev, status.st_ino) != self._file
                        or status.st_size < self._offset):
                    self._file = (status.st_dev, status.st_ino)
                    self._offset, self._partial = 0, b''
                log.seek(self._offset)
                data = log.read(_READ_BYTES)
        except FileNotFoundError:
            return None
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b'\n')
        for raw in complete + [self._partial]:
            line = printable(raw.decode('utf-8', 'replace'))
            if self.pattern.search(line):
                return line[:MAX_LINE]
        if len(self._partial) > MAX_BYTES:
            self._partial = self._partial[-MAX_BYTES:]
        return None
