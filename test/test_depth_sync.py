# Copyright 2026 edge_perception contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""The colour/depth stamp synchroniser: slop, bounded wait, bounded buffers, order."""

from types import SimpleNamespace

from edge_perception.depth import stamp_ns, StampSynchroniser
import pytest

MS = 1_000_000          # nanoseconds


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make(**kwargs):
    clock = Clock()
    return StampSynchroniser(clock=clock, **kwargs), clock


def test_pairs_with_the_closest_depth_within_the_slop():
    sync, _ = make(slop=0.02, max_wait=0.1)
    assert sync.add_depth(990 * MS, 'd990') == []
    assert sync.add_depth(1004 * MS, 'd1004') == []
    pairs = sync.add_colour(1000 * MS, 'c1000')       # a later depth exists: decided now
    assert [(p.colour, p.depth) for p in pairs] == [('c1000', 'd1004')]
    assert pairs[0].offset == pytest.approx(0.004)
    assert sync.counts['matched'] == 1 and sync.counts['unmatched'] == 0


def test_waits_for_a_depth_that_may_still_come_then_takes_it():
    sync, clock = make(slop=0.02, max_wait=0.1)
    sync.add_depth(985 * MS, 'early')                 # within the slop, but a closer may come
    assert sync.add_colour(1000 * MS, 'c') == []
    assert sync.waiting == 1
    clock.now += 0.03
    pairs = sync.add_depth(1001 * MS, 'close')
    assert [(p.colour, p.depth, p.waited) for p in pairs] == [('c', 'close', pytest.approx(0.03))]


def test_outside_the_slop_is_unmatched_and_counted():
    sync, _ = make(slop=0.01, max_wait=0.1)
    sync.add_depth(950 * MS, 'old')
    sync.add_depth(1030 * MS, 'new')                  # both 30+ ms away
    pairs = sync.add_colour(1000 * MS, 'c')
    assert [(p.colour, p.depth, p.offset) for p in pairs] == [('c', None, None)]
    assert sync.counts == {'matched': 0, 'unmatched': 1, 'colour_overflow': 0,
                           'depth_evicted_unused': 0}


def test_a_stalled_depth_stream_never_holds_colour_longer_than_max_wait():
    sync, clock = make(slop=0.02, max_wait=0.1)
    assert sync.add_colour(1000 * MS, 'c1') == []
    clock.now += 0.099
    assert sync.poll() == []
    clock.now += 0.002
    pairs = sync.poll()
    assert [(p.colour, p.depth) for p in pairs] == [('c1', None)]
    assert pairs[0].waited == pytest.approx(0.101)
    assert sync.counts['unmatched'] == 1 and sync.waiting == 0


def test_waiting_colour_frames_are_bounded_and_keep_their_order():
    sync, _ = make(slop=0.02, max_wait=10.0, colour_buffer=2)
    out = []
    for i in range(5):
        out += sync.add_colour((1000 + 33 * i) * MS, f'c{i}')
    assert [p.colour for p in out] == ['c0', 'c1', 'c2']    # the oldest decided on overflow
    assert sync.counts['colour_overflow'] == 3 and sync.waiting == 2
    out = sync.add_depth(1140 * MS, 'd')       # after both (c3 at 1099 ms, c4 at 1132 ms)
    assert [(p.colour, p.depth) for p in out] == [('c3', None), ('c4', 'd')]
    assert [p.colour for p in sync.flush()] == []


def test_depth_buffer_is_a_bounded_ring():
    sync, _ = make(slop=0.15, max_wait=0.1, depth_buffer=3)
    for i in range(6):
        sync.add_depth(i * 100 * MS, f'd{i}')
    assert sync.counts['depth_evicted_unused'] == 3
    # only d3..d5 are kept: d0/d1 (50 ms from the frame) are gone, d3 is 250 ms away
    assert [(p.colour, p.depth) for p in sync.add_colour(50 * MS, 'c')] == [('c', None)]
    assert [(p.colour, p.depth) for p in sync.add_colour(420 * MS, 'c2')] == [('c2', 'd4')]


def test_one_depth_serves_two_colour_frames_of_a_faster_stream():
    sync, _ = make(slop=0.02, max_wait=0.1)
    sync.add_depth(1000 * MS, 'd')
    sync.add_depth(1066 * MS, 'd2')
    first = sync.add_colour(995 * MS, 'c1') + sync.add_colour(1012 * MS, 'c2')
    assert [(p.colour, p.depth) for p in first] == [('c1', 'd'), ('c2', 'd')]


def test_stamp_of_a_builtin_time_and_bad_arguments():
    assert stamp_ns(SimpleNamespace(sec=3, nanosec=250)) == 3_000_000_250
    with pytest.raises(ValueError, match='buffers'):
        StampSynchroniser(depth_buffer=0)
