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
"""Newest-frame-wins worker pool, in-order output and CPU affinity (read back from the OS)."""

import os
import threading
import time

from edge_perception import load_model
from edge_perception.affinity import pin_current_thread, pinned, validate_cpus
from edge_perception.pool import WorkerPool
import pytest

from .helpers import wait_for
from .models import write_dense_model

linux_only = pytest.mark.skipif(not hasattr(os, 'sched_setaffinity'),
                                reason='thread affinity is a Linux API')


def test_newest_frame_wins_and_drops_are_counted():
    gate, started, seen = threading.Event(), threading.Event(), []

    def process(_, item):
        started.set()
        gate.wait(5)
        seen.append(item)

    worker = WorkerPool(1, process)
    try:
        assert worker.submit(0)              # taken by the worker at once, blocks on the gate
        assert started.wait(5)
        accepted = [worker.submit(i) for i in range(1, 6)]
        gate.set()
        assert worker.wait_idle(5)
        assert seen == [0, 5]                # 1..4 were replaced by newer frames
        assert accepted == [True, False, False, False, False]
        assert (worker.submitted, worker.dropped, worker.published) == (6, 4, 2)
        assert worker.counts()['dropped'] == {'replaced': 4, 'late': 0, 'shutdown': 0}
    finally:
        worker.stop()


def test_an_exception_in_processing_is_reported_and_the_worker_keeps_serving():
    errors, done = [], []

    def process(_, item):
        if item == 'bad':
            raise ValueError('bad frame')
        return item

    worker = WorkerPool(1, process, lambda item, result: done.append(result),
                        on_error=errors.append)
    try:
        worker.submit('bad')
        worker.wait_idle(5)
        worker.submit('good')
        worker.wait_idle(5)
        assert [str(e) for e in errors] == ['bad frame'] and done == ['good']
        assert worker.counts()['bad'] == {'error': 1} and worker.published == 1
    finally:
        worker.stop()


def test_results_are_emitted_in_frame_order_whatever_worker_finishes_first():
    """Worker 0 is slow on frame 0; worker 1's later frames wait for it, none is lost."""
    release, emitted, order = threading.Event(), [], []

    def work(index, item):
        order.append((index, item))
        if item == 0:
            release.wait(5)
        return item * 10

    pool = WorkerPool(2, work, lambda item, result: emitted.append((item, result)))
    try:
        pool.submit(0)
        while not order:
            time.sleep(0.001)
        for item in (1, 2, 3):                  # worker 1 serves these while 0 is stuck
            pool.submit(item)
            deadline = time.monotonic() + 5
            while len(order) < item + 1 and time.monotonic() < deadline:
                time.sleep(0.001)
        assert emitted == []                    # 1..3 are done but wait for frame 0
        release.set()
        assert pool.wait_idle(5)
        assert emitted == [(0, 0), (1, 10), (2, 20), (3, 30)]
        assert {index for index, _ in order} == {0, 1}
    finally:
        pool.stop()


def test_a_burst_is_served_in_order_with_every_frame_accounted_for():
    emitted = []
    pool = WorkerPool(3, lambda i, item: (time.sleep(0.002), item)[1],
                      lambda item, result: emitted.append(result))
    try:
        for item in range(300):
            pool.submit(item)
        assert pool.wait_idle(10)
        assert emitted == sorted(emitted)                       # never back in time
        assert pool.published + pool.dropped + pool.bad == pool.submitted == 300
        assert len(emitted) == pool.published and pool.dropped > 0
    finally:
        pool.stop()


def test_pool_needs_a_worker():
    with pytest.raises(ValueError, match='workers'):
        WorkerPool(0, lambda i, item: item)


@linux_only
def test_worker_thread_pins_itself_and_reads_it_back():
    cpu = min(os.sched_getaffinity(0))
    masks = []
    worker = WorkerPool(2, lambda i, _: masks.append(os.sched_getaffinity(0)),
                        cpu_affinity=[cpu])
    try:
        worker.submit(1)
        worker.wait_idle(5)
        assert worker.affinity == {0: {cpu}, 1: {cpu}} and masks == [{cpu}]
        assert os.sched_getaffinity(0) != {cpu} or len(os.sched_getaffinity(0)) == 1
    finally:
        worker.stop()


@linux_only
def test_pinned_restores_the_calling_threads_mask():
    before = os.sched_getaffinity(0)
    with pinned([min(before)]):
        assert os.sched_getaffinity(0) == {min(before)}
    assert os.sched_getaffinity(0) == before


def test_unknown_cpu_ids_are_rejected_with_the_available_ones():
    with pytest.raises(ValueError, match='not available here'):
        validate_cpus([4096])
    assert pin_current_thread([]) is None


def _thread_masks():
    """CPU list of every thread of this process, from /proc."""
    masks = {}
    for tid in os.listdir('/proc/self/task'):
        with open(f'/proc/self/task/{tid}/status') as f:
            for line in f:
                if line.startswith('Cpus_allowed_list'):
                    masks[int(tid)] = line.split(':')[1].strip()
    return masks


@linux_only
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason='needs 2 CPUs to see a pinning')
def test_onnxruntime_pool_threads_are_created_pinned(tmp_path):
    """threads=2 makes ONNX Runtime start a pool thread: it must carry the requested mask."""
    import onnxruntime  # noqa: F401  (its import starts a thread of its own; not the pool)
    path = write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    cpu = max(os.sched_getaffinity(0))
    before = set(_thread_masks())
    model = load_model(path, threads=2, cpu_affinity=[cpu])
    new = {tid: mask for tid, mask in _thread_masks().items() if tid not in before}
    assert new, 'onnxruntime started no pool thread'
    assert set(new.values()) == {str(cpu)}
    assert os.sched_getaffinity(0) != {cpu}      # the caller's own mask was restored
    model.close()


def test_emit_runs_one_call_at_a_time_in_frame_order():
    """Whoever publishes (the publisher thread or an idle worker), emit never overlaps."""
    lock, inside, most, threads, items = threading.Lock(), [0], [0], set(), []

    def work(_, item):
        time.sleep(0.0005 * (item % 4))     # finish out of order
        return item

    def emit(item, _result):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threads.add(threading.current_thread().name)
        items.append(item)
        time.sleep(0.0003)
        with lock:
            inside[0] -= 1

    pool = WorkerPool(3, work, emit, name='unit')
    try:
        for item in range(200):
            pool.submit(item)
            time.sleep(0.0004 * (item % 3))
        assert pool.wait_idle(10)
        assert most[0] == 1 and items == sorted(items) and len(items) == pool.published
        assert threads <= {'unit-publish', 'unit-0', 'unit-1', 'unit-2'}
    finally:
        pool.stop()


def test_a_worker_publishes_its_own_result_only_when_no_frame_waits_and_nobody_publishes():
    """
    Under load a worker hands its result to the publisher thread and takes the next frame.

    Frame 0 finishes while frame 1 waits: the publisher thread emits 0 (held in emit by a
    gate). Frame 1 finishes with nothing waiting, but 0 is still being emitted: 1 waits its
    turn on the publisher thread, never in emit at the same time. Frame 2 comes alone to an
    idle pool: its worker publishes it itself (the hand-off saved).
    """
    go0, gate = threading.Event(), threading.Event()
    finished, entered = [], []

    def work(_, item):
        if item == 0:
            assert go0.wait(10)
        finished.append(item)
        return item

    def emit(item, _result):
        entered.append((item, threading.current_thread().name))
        if item == 0:
            assert gate.wait(10)

    pool = WorkerPool(1, work, emit, name='unit')
    try:
        pool.submit(0)
        assert wait_for(lambda: pool.counts()['in_flight'] == 1, 5)     # 0 is running
        pool.submit(1)                                                  # 1 waits for it
        go0.set()
        assert wait_for(lambda: finished == [0, 1], 5)
        time.sleep(0.05)
        assert entered == [(0, 'unit-publish')]         # 1 is not emitted while 0 is
        gate.set()
        assert pool.wait_idle(10)
        pool.submit(2)
        assert pool.wait_idle(10)
        assert entered == [(0, 'unit-publish'), (1, 'unit-publish'), (2, 'unit-0')]
        assert pool.counts()['published'] == 3
    finally:
        pool.stop()
