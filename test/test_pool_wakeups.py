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
The pool's publisher thread is not woken per frame, and the timeout watchdog still fires on time.

A new call does not notify the watchdog (each notification is a thread wake-up and an
interpreter-lock hand-off per frame): the publisher thread looks again within one timeout
whatever happens, which is early enough for any call started since. When a worker publishes
its own result (the pool is not overloaded) the publisher thread is not woken at all.
"""

import threading
import time

from edge_perception.pool import WorkerPool

from .helpers import wait_for


def test_a_call_started_long_after_the_pool_went_idle_times_out_on_time():
    release, timed_out = threading.Event(), []
    started = {}

    def work(_context, item):
        started[item] = time.monotonic()
        release.wait(30)
        return item

    pool = WorkerPool(1, work, lambda item, result: None, inference_timeout_ms=300,
                      on_timeout=lambda index, seconds: timed_out.append(time.monotonic()))
    try:
        time.sleep(0.2)                 # the watchdog's last look was at start-up
        pool.submit('hang')
        assert wait_for(lambda: timed_out, 5), 'a call started after the last look never timed out'
        late = timed_out[0] - started['hang']
        assert 0.3 - 0.01 <= late < 0.3 + 0.25, late
    finally:
        release.set()
        pool.stop()


def test_a_worker_publishing_its_own_results_never_wakes_the_publisher_thread(monkeypatch):
    looks = []
    original = WorkerPool._watchdog

    def watchdog(self, now):        # runs once per pass of the publisher thread's loop
        looks.append(threading.current_thread().name)
        return original(self, now)

    monkeypatch.setattr(WorkerPool, '_watchdog', watchdog)
    emitted = []
    pool = WorkerPool(1, lambda _context, item: item,
                      lambda item, result: emitted.append(threading.current_thread().name),
                      name='quiet', inference_timeout_ms=10000)   # the node's default
    try:
        assert wait_for(lambda: looks, 5)       # its first look, at start-up
        time.sleep(0.05)
        before = len(looks)
        for item in range(50):
            pool.submit(item)
            assert pool.wait_idle(5)
        assert emitted == ['quiet-0'] * 50      # each on its worker, in frame order
        assert len(looks) - before <= 2, f'{len(looks) - before} wake-ups for 50 frames'
    finally:
        pool.stop()
