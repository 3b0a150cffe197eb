"""The README's Python example runs as written."""

import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(__file__), '..', '..', 'README.md')


def test_readme_python_example_runs(tmp_path):
    with open(README) as stream:
        (example,) = re.findall(r'```python\n(.*?)```', stream.read(), re.S)
    result = subprocess.run([sys.executable, '-c', example], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "active ['vda', 'vdb']"
    assert lines[1].startswith("create ['mark-building', 'claim-resources'")
    assert lines[-1] == '[]'


def test_readme_images_are_in_the_tree():
    with open(README) as stream:
        images = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', stream.read())
    assert images == ['docs/images/flow-two-volumes.png',
                      'docs/images/flow-failed-reverted.png']
    for image in images:
        with open(os.path.join(os.path.dirname(README), image), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n', image
