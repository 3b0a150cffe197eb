"""Reading a guest's console log: printable lines, the tail, the watch."""

import hypothesis
from hypothesis import strategies

from spawnflow.drivers.virt import console


def test_escape_sequences_and_control_characters_are_removed():
    line = ('\x1b[1;31mred\x1b[0m \x1b]0;title\x07text\x08\x00\x7f\tend'
            '\x1bc\r\n')
    assert console.printable(line) == 'red text\tend'


@hypothesis.given(strategies.text())
def test_printable_never_holds_a_control_character(line):
    text = console.printable(line)
    assert not any(ord(c) < 32 and c != '\t' or 0x7f <= ord(c) <= 0x9f
                   for c in text)


def test_tail_of_a_missing_log_is_empty(tmp_path):
    assert console.tail(str(tmp_path / 'console.log')) == []


def test_tail_reads_only_the_end_and_drops_the_cut_line(tmp_path):
    log = tmp_path / 'console.log'
    log.write_bytes(b''.join(b'line %06d\n' % i for i in range(100000)))
    lines = console.tail(str(log), max_bytes=1000)
    assert lines[-1] == 'line 099999'
    assert len(lines) == 1000 // len(b'line 000000\n')
    assert all(line.startswith('line ') and len(line) == 11
               for line in lines)
    assert console.tail(str(log), lines=3) == [
        'line 099997', 'line 099998', 'line 099999']
    assert console.tail(str(log), lines=0) == []


def test_tail_decodes_invalid_utf8_leniently(tmp_path):
    log = tmp_path / 'console.log'
    log.write_bytes(b'ok\n\xff\xfe bad\n')
    assert console.tail(str(log)) == ['ok', '\ufffd\ufffd bad']


def test_watch_finds_a_line_written_in_pieces(tmp_path):
    log = tmp_path / 'console.log'
    watch = console.Watch(str(log), r'^Cloud-init v\. \S+ finished at ')
    assert watch.find() is None  # no log yet
    log.write_bytes(b'booting\nCloud-init v. 23')
    assert watch.find() is None
    with open(log, 'ab') as stream:
        stream.write(b'.1 finished at now\nmore\n')
    assert watch.find() == 'Cloud-init v. 23.1 finished at now'


def test_watch_starts_again_when_the_log_is_truncated(tmp_path):
    log = tmp_path / 'console.log'
    watch = console.Watch(str(log), 'booted')
    log.write_bytes(b'a long first boot that never said it\n' * 10)
    assert watch.find() is None
    log.write_bytes(b'booted\n')  # the domain started again
    assert watch.find() == 'booted'


def test_watch_ignores_escape_sequences_around_the_marker(tmp_path):
    log = tmp_path / 'console.log'
    log.write_bytes(b'\x1b[32mbooted\x1b[0m\r\n')
    assert console.Watch(str(log), '^booted$').find() == 'booted'


def test_watch_reads_a_rotated_log_from_its_start(tmp_path):
    """virtlogd renamed the log and began a new one, already longer than
    what was read of the old."""
    log = tmp_path / 'console.log'
    watch = console.Watch(str(log), 'booted')
    log.write_bytes(b'old boot\n')
    assert watch.find() is None
    log.rename(tmp_path / 'console.log.0')
    log.write_bytes(b'booted\n' + b'later lines\n' * 10)
    assert watch.find() == 'booted'


def test_watch_returns_at_most_a_line_of_max_line(tmp_path):
    log = tmp_path / 'console.log'
    log.write_bytes(b'Cloud-init v. x finished at ' + b'y' * 3 * 2 ** 20)
    line = console.Watch(str(log), 'finished at ').find()
    assert line == ('Cloud-init v. x finished at ' + 'y' * 300)[
        :console.MAX_LINE]


def test_invisible_formatting_characters_are_removed():
    assert console.printable('safe \u202eevil\u200b \u2066x\u2069\ufeff') \
        == 'safe evil x'
