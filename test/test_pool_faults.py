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
Worker pool faults: raising and hanging inferences, re-created contexts, shutdown, a flood.

``Context`` stands for one runtime context (an RKNNLite per NPU core): it records whether a
call is running on it and fails the test when it is freed during one, the fault the old pool
had (it joined each worker for 5 s, then freed the models anyway).
"""

import collections
import random
import threading
import time

from edge_perception.pool import WorkerPool

from .helpers import wait_for


class Context:
    """A model context that knows whether an inference runs on it."""

    def __init__(self, name):
        self.name, self.calls, self.in_call, self.closed = name, 0, False, False
        self.freed_during_call = False

    def close(self):
        self.freed_during_call |= self.in_call
        self.closed = True


class Contexts:
    """The factory: initial contexts, re-creations (with the context each replaced)."""

    def __init__(self, workers):
        self.made = [Context(f'ctx{i}') for i in range(workers)]
        self.reopened = []

    def reopen(self, index, old):
        new = Context(f'ctx{index}.{len(self.reopened) + 1}')
        self.reopened.append((index, old, new))
        self.made.append(new)
        return new


def hanging_work(hang_on, release):
    """Work that hangs on items in ``hang_on`` until ``release`` is set."""
    def work(context, item):
        assert not context.closed, f'inference on freed {context.name}'
        context.in_call, context.calls = True, context.calls + 1
        try:
            if item in hang_on:
                release.wait(60)
            return (context.name, item)
        finally:
            context.in_call = False
    return work


def test_an_inference_that_raises_is_bad_by_reason_and_the_worker_goes_on():
    errors, emitted = [], []

    def work(_context, item):
        if item == 'corrupt':
            raise ValueError('corrupt frame')
        if item == 'npu':
            raise RuntimeError('NPU error -1')
        return item

    pool = WorkerPool(1, work, lambda item, result: emitted.append(item), on_error=errors.append,
                      classify=lambda e: 'malformed' if isinstance(e, ValueError) else 'error')
    try:
        for item in ('corrupt', 'ok1', 'npu', 'ok2'):
            pool.submit(item)
            assert pool.wait_idle(5)
        assert emitted == ['ok1', 'ok2']
        assert pool.counts()['bad'] == {'malformed': 1, 'error': 1}
        assert [type(e) for e in errors] == [ValueError, RuntimeError]
    finally:
        pool.stop()


def test_a_hung_inference_times_out_its_context_is_recreated_and_freed_after_it_returns():
    release, timeouts, emitted = threading.Event(), [], []
    contexts = Contexts(2)
    pool = WorkerPool(2, hanging_work({'hang'}, release),
                      lambda item, result: emitted.append(result), contexts=contexts.made[:2],
                      reopen=contexts.reopen, close=Context.close, inference_timeout_ms=300,
                      on_timeout=lambda index, seconds: timeouts.append((index, seconds)))
    try:
        pool.submit('hang')
        assert wait_for(lambda: timeouts, 10), 'the hung inference was not noticed'
        (index, seconds), = timeouts
        assert seconds >= 0.3 - 0.01
        assert wait_for(lambda: contexts.reopened, 10)
        (reopened_index, hung, fresh), = contexts.reopened
        assert reopened_index == index and hung is contexts.made[index]
        assert hung.in_call and not hung.closed       # never freed while its call runs
        # reopen() returned to the pool, which counts the re-creation just after: wait for it
        assert wait_for(lambda: pool.counts()['recreated'] == 1, 10), pool.counts()
        counts = pool.counts()
        assert counts['bad'] == {'timeout': 1} and counts['hung'] == 1
        assert counts['timeouts'] == 1 and counts['recreated'] == 1
        # the node keeps serving: the fresh context and the other one take the frames
        served = set()
        for item in range(200):
            pool.submit(item)
            assert pool.wait_idle(5)
            served.add(emitted[-1][0])
            if fresh.name in served:
                break
        assert fresh.name in served and hung.name not in served, served
        assert served <= {fresh.name, contexts.made[1 - index].name}, served
        assert hung.calls == 1
        release.set()
        assert wait_for(lambda: hung.closed, 10), 'the abandoned context was never freed'
        assert not hung.freed_during_call
        assert pool.counts()['hung'] == 0
        assert ('ctx%d' % index, 'hang') not in emitted     # its late result is discarded
        assert pool.published + pool.dropped + pool.bad == pool.submitted
    finally:
        release.set()
        pool.stop()
    assert all(c.closed and not c.freed_during_call for c in contexts.made)


def test_shutdown_waits_for_the_running_inference_and_counts_the_queued_frame():
    release, emitted, fates = threading.Event(), [], {}
    context = Context('ctx0')
    pool = WorkerPool(1, hanging_work({'slow'}, release),
                      lambda item, result: emitted.append(item), contexts=[context],
                      close=Context.close,
                      on_settle=lambda item, fate, reason: fates.update({item: (fate, reason)}))
    pool.submit('slow')
    assert wait_for(lambda: context.in_call, 5)
    pool.submit('queued')
    stopper = threading.Thread(target=lambda: fates.update(stopped=pool.stop(timeout=30)))
    stopper.start()
    assert wait_for(lambda: fates.get('queued'), 5) == ('dropped', 'shutdown')
    assert not pool.submit('after'), 'intake must be closed'
    assert fates['after'] == ('dropped', 'shutdown')
    time.sleep(0.2)
    assert not context.closed and stopper.is_alive()    # stop waits for the running call
    release.set()
    stopper.join(10)
    assert fates['stopped'] is True
    assert context.closed and not context.freed_during_call
    assert emitted == ['slow'] and fates['slow'] == ('published', '')


def test_shutdown_bound_reached_the_context_is_freed_only_when_the_call_returns():
    release, fates = threading.Event(), {}
    context = Context('ctx0')
    pool = WorkerPool(1, hanging_work({'stuck'}, release), contexts=[context],
                      close=Context.close,
                      on_settle=lambda item, fate, reason: fates.update({item: (fate, reason)}))
    pool.submit('stuck')
    assert wait_for(lambda: context.in_call, 5)
    assert pool.stop(timeout=0.3) is False          # the call did not return in time
    assert fates == {'stuck': ('dropped', 'shutdown')}
    assert not context.closed                       # still inside the call: not freed
    release.set()
    assert wait_for(lambda: context.closed, 10)
    assert not context.freed_during_call and fates == {'stuck': ('dropped', 'shutdown')}


def test_a_flood_with_every_fault_accounts_for_each_frame_exactly_once():
    """Two submitters, 3 workers, errors, emit failures, hangs, late drops, then shutdown."""
    rng = random.Random(7)
    release = threading.Event()
    hang_after, hung_items = [300, 700, 1100], set()   # the first frame taken past each hangs
    contexts = Contexts(3)
    fates = collections.defaultdict(list)
    emitted = []
    base = hanging_work(hung_items, release)
    choose = threading.Lock()

    def work(context, item):
        if item % 97 == 5:
            raise RuntimeError('inference failed')
        with choose:
            if hang_after and item >= hang_after[0]:
                hang_after.pop(0)
                hung_items.add(item)
        time.sleep(rng.random() * 0.002)
        return base(context, item)

    def emit(item, _result):
        if item % 89 == 3:
            raise OSError('publish failed')
        emitted.append(item)

    pool = WorkerPool(3, work, emit, contexts=contexts.made[:3], reopen=contexts.reopen,
                      close=Context.close, inference_timeout_ms=150, max_latency_ms=20,
                      window=3,
                      on_settle=lambda item, fate, reason: fates[item].append((fate, reason)))
    lock, next_item = threading.Lock(), [0]

    def submitter():
        for _ in range(1500):
            with lock:                  # item numbers in submission order
                item, next_item[0] = next_item[0], next_item[0] + 1
                pool.submit(item)
            time.sleep(rng.random() * 0.0004)

    feeders = [threading.Thread(target=submitter) for _ in range(2)]
    for feeder in feeders:
        feeder.start()
    assert wait_for(lambda: pool.counts()['timeouts'] == 3 and next_item[0] >= 2000, 30)
    pool.stop(timeout=2)                # frames still coming are dropped (shutdown)
    for feeder in feeders:
        feeder.join()
    with lock:
        pool.submit(next_item[0])
        next_item[0] += 1
    release.set()
    assert wait_for(lambda: pool.counts()['hung'] == 0, 10)
    counts = pool.counts()
    assert set(fates) == set(range(3001)) and all(len(f) == 1 for f in fates.values())
    by_fate = collections.Counter(f[0][0] for f in fates.values())
    assert by_fate['published'] == counts['published'] == len(emitted)
    assert counts['published'] + sum(counts['dropped'].values()) \
        + sum(counts['bad'].values()) == counts['submitted'] == 3001
    assert emitted == sorted(emitted) and len(set(emitted)) == len(emitted)
    assert counts['bad'].get('error', 0) > 0 and counts['bad'].get('publish', 0) > 0
    assert counts['dropped']['replaced'] > 0 and counts['dropped']['shutdown'] > 0
    assert len(hung_items) == 3 and counts['bad']['timeout'] == 3 == counts['recreated']
    assert all(fates[item] == [('bad', 'timeout')] for item in hung_items)
    assert all(c.closed and not c.freed_during_call for c in contexts.made)
