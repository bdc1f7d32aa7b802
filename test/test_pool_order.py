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
"""
The worker pool's bounded reorder window, max_latency_ms and late-drop accounting.

A frame is made to stick by a work function that waits on an event; the tests then drive the
other workers frame by frame, so what must and must not be published yet is decided by the
scenario, not by timing.
"""

import threading
import time

from edge_perception.pool import WorkerPool

from .helpers import wait_for


class Scenario:
    """Work that sticks on chosen items until released, and a record of every frame's fate."""

    def __init__(self, stuck=()):
        self.release = threading.Event()
        self.stuck = set(stuck)
        self.lock = threading.Lock()
        self.taken, self.finished, self.emitted, self.fates = [], [], [], {}
        self.started_at = {}

    def work(self, _context, item):
        with self.lock:
            self.taken.append(item)
            self.started_at[item] = time.monotonic()
        if item in self.stuck:
            assert self.release.wait(30)
        with self.lock:
            self.finished.append(item)
        return item

    def emit(self, item, _result):
        self.emitted.append((item, time.monotonic()))

    def settle(self, item, fate, reason):
        assert item not in self.fates, f'{item} settled twice'
        self.fates[item] = (fate, reason)

    def items(self):
        return [item for item, _ in self.emitted]

    def feed_one(self, pool, item):
        """Submit ``item`` and wait until a worker has finished it (or is stuck in it)."""
        pool.submit(item)
        done = self.finished if item not in self.stuck else self.taken
        assert wait_for(lambda: item in done, 10), f'{item} was not taken'


def test_a_stuck_frame_is_skipped_once_the_window_is_full_and_counted_late():
    s = Scenario(stuck={0})
    pool = WorkerPool(3, s.work, s.emit, window=2, on_settle=s.settle)
    try:
        s.feed_one(pool, 0)
        s.feed_one(pool, 1)
        # one result waits behind the stuck frame: within the window, order is kept
        assert wait_for(lambda: pool.counts()['in_flight'] == 2, 5)
        assert s.items() == []
        s.feed_one(pool, 2)
        # two wait: the window is full, frame 0 no longer blocks them
        assert wait_for(lambda: s.items() == [1, 2], 10), s.items()
        s.release.set()
        assert pool.wait_idle(10)
        assert s.items() == [1, 2]                  # 0 came back older than 2: not published
        assert s.fates == {0: ('dropped', 'late'), 1: ('published', ''),
                           2: ('published', '')}
        counts = pool.counts()
        assert counts['dropped'] == {'replaced': 0, 'late': 1, 'shutdown': 0}
        assert counts['published'] == 2 and counts['submitted'] == 3
    finally:
        pool.stop()


def test_max_latency_lets_later_results_pass_a_frame_in_flight_too_long():
    s = Scenario(stuck={0})
    pool = WorkerPool(2, s.work, s.emit, window=100, max_latency_ms=800, on_settle=s.settle)
    try:
        s.feed_one(pool, 0)
        s.feed_one(pool, 1)
        assert wait_for(lambda: s.items() == [1], 10), s.items()
        # released no earlier than max_latency after frame 0 was taken (a lower bound only)
        assert s.emitted[0][1] - s.started_at[0] >= 0.8 - 0.01
        s.release.set()
        assert pool.wait_idle(10)
        assert s.fates[0] == ('dropped', 'late') and s.items() == [1]
    finally:
        pool.stop()


def test_without_a_reason_to_skip_the_order_is_kept_whatever_finishes_first():
    """Window and max_latency not reached: the stuck frame is published first, then the rest."""
    s = Scenario(stuck={0})
    pool = WorkerPool(3, s.work, s.emit, window=10, max_latency_ms=60_000, on_settle=s.settle)
    try:
        for item in range(4):
            s.feed_one(pool, item)
        assert s.items() == []
        s.release.set()
        assert pool.wait_idle(10)
        assert s.items() == [0, 1, 2, 3]
        assert all(fate == ('published', '') for fate in s.fates.values())
    finally:
        pool.stop()


def test_a_stall_cannot_pile_up_results_and_the_surplus_is_counted():
    """
    The old pool's failure: one frame stuck for seconds while frames keep coming.

    Before, every later result was buffered (198 with 3 workers in a 3-s stall) and went out in
    one stale burst. Now at most window + workers - 1 results are held, the stuck frame is
    skipped and later counted late, and the surplus frames are replaced at intake, counted.
    """
    s = Scenario(stuck={0})
    workers, window = 3, 2
    pool = WorkerPool(workers, s.work, s.emit, window=window, on_settle=s.settle)
    try:
        s.feed_one(pool, 0)
        for item in range(1, 200):
            pool.submit(item)
            time.sleep(0.0005)
        assert wait_for(lambda: 199 in s.fates, 10)
        s.release.set()
        assert pool.wait_idle(10)
        assert pool.peak_waiting <= window + workers - 1, pool.peak_waiting
        items = s.items()
        assert items == sorted(items) and len(set(items)) == len(items) and 0 not in items
        assert s.fates[0] == ('dropped', 'late')
        assert set(s.fates) == set(range(200))
        assert pool.published + pool.dropped + pool.bad == pool.submitted == 200
    finally:
        pool.stop()


def test_a_slow_publisher_pauses_the_workers_instead_of_buffering():
    """A blocked emit: no worker takes a frame while the window is full; frames are replaced."""
    gate, emitted, fates = threading.Event(), [], {}
    workers, window = 3, 2

    def emit(item, _result):
        assert gate.wait(30)
        emitted.append(item)

    pool = WorkerPool(workers, lambda _c, item: item, emit, window=window,
                      on_settle=lambda item, fate, reason: fates.setdefault(item, []).append(
                          (fate, reason)))
    try:
        for item in range(100):
            pool.submit(item)
            time.sleep(0.001)
        counts = pool.counts()
        held = counts['in_flight']                  # running + finished, not yet published
        assert held <= window + workers - 1, counts
        # what else is unsettled: the queued frame, and the batch the publisher holds (taken
        # from those finished, so no more than window + workers - 1 either)
        unsettled = counts['submitted'] - counts['published'] - sum(counts['dropped'].values())
        assert unsettled <= 1 + 2 * (window + workers - 1), counts
        assert counts['dropped']['replaced'] == 100 - unsettled, counts
        gate.set()
        assert pool.wait_idle(10)
        assert emitted == sorted(emitted) and all(len(f) == 1 for f in fates.values())
        assert len(fates) == 100 and pool.published == len(emitted)
    finally:
        pool.stop()
