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
Inference worker pool: N workers, results delivered in frame order, newest frame wins.

One worker per inference context (one RKNNLite context per NPU core, one ONNX Runtime session
per CPU core, ...). A single-slot mailbox feeds them: ``submit`` replaces a frame that is still
waiting (counted as dropped), and the next idle worker takes the newest frame. Each taken frame
gets a sequence number; ``emit`` is called in sequence order (a fast worker's result waits for
a slower worker's earlier frame), so published results never go back in time. With one worker
this is the classic newest-frame-wins inference thread. ROS-free: the node and tests share it.
"""

import threading
from typing import Callable, Dict, Optional, Sequence

from .affinity import pin_current_thread

_FAILED = object()      # placeholder result of a frame whose work raised


class WorkerPool:
    """
    Run ``work(worker_index, item)`` on N threads; ``emit(item, result)`` in submission order.

    on_error(exc) is told about exceptions raised by ``work`` or ``emit``; the pool keeps
    serving and the failed frame is skipped in the output order. cpu_affinity: CPU ids every
    worker thread pins itself to (threads read their mask back into ``affinity``).
    """

    def __init__(self, workers: int, work: Callable[[int, object], object],
                 emit: Optional[Callable[[object, object], None]] = None, name: str = 'inference',
                 cpu_affinity: Optional[Sequence[int]] = None,
                 on_error: Optional[Callable[[BaseException], None]] = None):
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        self._work, self._emit, self._on_error = work, emit, on_error
        self._cpu_affinity = tuple(cpu_affinity or ())
        self._cond = threading.Condition()
        self._emit_lock = threading.Lock()
        self._pending, self._has_pending = None, False
        self._stopping = False
        self._next_seq = 0              # given to the next frame a worker takes
        self._next_emit = 0             # the sequence number emit waits for
        self._done: Dict[int, tuple] = {}
        self.submitted = self.dropped = self.processed = self.failed = 0
        self.affinity: Dict[int, Optional[set]] = {}
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True,
                                          name=f'{name}-{i}') for i in range(workers)]
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        return len(self._threads)

    def submit(self, item) -> bool:
        """Hand over a new item; False when it replaced one still waiting (a drop)."""
        with self._cond:
            self.submitted += 1
            replaced = self._has_pending
            if replaced:
                self.dropped += 1
            self._pending, self._has_pending = item, True
            self._cond.notify()
        return not replaced

    def _run(self, index: int):
        if self._cpu_affinity:
            self.affinity[index] = pin_current_thread(self._cpu_affinity)
        while True:
            with self._cond:
                while not self._has_pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item, self._pending, self._has_pending = self._pending, None, False
                seq, self._next_seq = self._next_seq, self._next_seq + 1
            try:
                result = self._work(index, item)
            except Exception as exc:  # keep serving; the owner decides how to report it
                result = _FAILED
                self._report(exc)
            self._finish(seq, item, result)

    def _report(self, exc):
        if self._on_error is not None:
            self._on_error(exc)

    def _finish(self, seq, item, result):
        """Record a finished frame, then emit every frame that is now next in order."""
        with self._emit_lock:
            self._done[seq] = (item, result)
            while self._next_emit in self._done:
                ready_item, ready = self._done.pop(self._next_emit)
                self._next_emit += 1
                if ready is _FAILED:
                    self.failed += 1
                elif self._emit is not None:
                    try:
                        self._emit(ready_item, ready)
                    except Exception as exc:  # an emit failure must not stall the order
                        self.failed += 1
                        self._report(exc)
                with self._cond:
                    self.processed += 1
                    self._cond.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is waiting or in progress (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._has_pending
                and self.processed + self.dropped >= self.submitted, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the frames in progress; a waiting one is discarded."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
