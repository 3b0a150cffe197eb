"""The flow view and its diagram, as pure logic: shortened and masked
texts, the shape of plans, and labels no text can break out of."""

from xml.etree import ElementTree

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pydot
import pytest

from spawnflow import diagram
from spawnflow import inspection

SVG = '{http://www.w3.org/2000/svg}'
XLINK = '{http://www.w3.org/1999/xlink}'
SHAPE = [(0, 'image', 'local'), (1, 'blank', 'volume'),
         (2, 'image', 'volume')]


@pytest.mark.parametrize('value, expected', [
    (None, 'None'),
    ('vol-1', 'vol-1'),
    ('<domain>\n  <name>x</name>\n</domain>', '<domain> ...'),
    ({'auth_password': 'hunter2', 'target': 'iqn'},
     "{'auth_password': '***', 'target': 'iqn'}"),
    ({'connection_info': {'data': {'keyring': 'AQB'}}},
     "{'connection_info': {'data': {'keyring': '***'}}}"),
    ('failed: password=hunter2 at 127.0.0.1', 'failed: password=*** at '
     '127.0.0.1'),
    ('first line\npassword=hunter2', 'first line ...'),
    ('x' * 500, 'x' * (inspection.SHORT - 3) + '...'),
    ('bell\x07 and nul\x00', 'bell\ufffd and nul\ufffd'),
    (['a', {'token': 'abc'}], "['a', {'token': '***'}]"),
])
def test_short_texts_are_one_masked_line(value, expected):
    assert inspection.short(value) == expected


def test_a_secret_split_by_the_cut_is_still_masked():
    text = 'a' * (inspection.SHORT - 12) + ' password=hunter2hunter2'
    assert 'hunter' not in inspection.short(text)


def test_a_plan_has_every_atom_pending_and_parallel_branches():
    view = inspection.plan('create', SHAPE)
    names = [atom.name for atom in view.atoms]
    assert names[:3] == ['mark-building', 'claim-resources',
                         'task-state-block-device-mapping']
    assert {atom.state for atom in view.atoms} == {'PENDING'}
    (volumes,) = [child for child in view.root.children
                  if isinstance(child, inspection.Group)]
    assert volumes.parallel
    assert [branch.name for branch in volumes.children] == [
        'block-device-1', 'block-device-2']
    assert not any(branch.parallel for branch in volumes.children)
    assert view.revert_path() == []


def _failed_view(cause):
    view = inspection.plan('create', SHAPE[:1])
    atoms = view.atoms
    failed = next(i for i, a in enumerate(atoms) if a.name == 'start-domain')
    for order, atom in enumerate(atoms[failed::-1], start=1):
        atom.state, atom.revert_order = 'REVERTED', order
        atom.revert_result = 'Reverted'
    atoms[failed].cause = cause
    return view


@pytest.mark.parametrize('cause', [
    '<script>alert(1)</script>',
    '"]; evil [label="x',
    'ends with a backslash \\',
    '\\N \\G \\L \\l',
    '<b>html-like</b>',
    '}\ndigraph x {',
])
def test_hostile_causes_stay_text(cause):
    cause = inspection.short(cause)
    view = _failed_view(cause)
    (graph,) = pydot.graph_from_dot_data(diagram.source(view))
    svg = ElementTree.fromstring(diagram.render(view, 'svg'))
    assert not list(svg.iter(SVG + 'script'))
    nodes = [g for g in svg.iter(SVG + 'g')
             if 'node' in g.get('class', '').split()]
    assert len(nodes) == len(view.atoms)
    texts = ' '.join(t.text or '' for t in svg.iter(SVG + 'text'))
    assert 'failed: ' + cause[:20].strip() in texts
    (tooltip,) = [a.get(XLINK + 'title') for a in svg.iter(SVG + 'a')
                  if (a.get(XLINK + 'title') or '').startswith(
                      'start-domain')]
    assert 'cause: ' + cause in tooltip


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_any_cause_renders_one_node_per_atom(cause):
    view = _failed_view(inspection.short(cause))
    svg = ElementTree.fromstring(diagram.svg(view))
    classes = {g.find(SVG + 'title').text: set(g.get('class').split())
               for g in svg.iter(SVG + 'g')
               if 'node' in g.get('class', '').split()}
    assert sorted(classes) == sorted(atom.name for atom in view.atoms)
    assert classes['start-domain'] == {'node', 'state-reverted', 'failed'}
    assert {'node', 'state-pending'} == classes['mark-active']


@pytest.mark.parametrize('seconds, text', [
    (0.0123, '0.01 s'), (9.994, '9.99 s'), (34.06, '34.1 s'),
    (125, '2 min 5 s'), (3600, '60 min 0 s')])
def test_durations_for_people(seconds, text):
    assert inspection.duration_text(seconds) == text
