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
Inference worker pool: N workers, ordered output through a bounded window, every frame counted.

One worker per inference context (one RKNNLite context per NPU core, one ONNX Runtime session
per CPU core, ...). A single-slot mailbox feeds them: ``submit`` replaces a frame that is still
waiting (dropped, reason ``replaced``), and the next idle worker takes the newest frame and
gives it a sequence number. ``emit`` runs in sequence order, one call at a time, never under a
lock: on the pool's publisher thread, except that a worker whose result is the next in order
publishes it itself when nobody else is publishing and no frame waits for a worker (the
service is not overloaded: the worker would only wait, and the hand-off to the publisher
thread is saved). Under load every result goes to the publisher thread, so no worker waits
for ``emit``. Waits are split: idle workers, the publisher and the callers of ``stop`` /
``wait_idle`` each wait on a condition of their own (one lock), so a new frame wakes one
worker only and a finished result the publisher only (a result its worker publishes itself
wakes nobody; a new call does not wake the timeout watchdog, which looks again at least once
per timeout: soon enough for any call started since). The order is kept through a bounded reorder
window: a frame still in flight stops blocking later results once ``window`` finished results
wait behind it or it has been in flight ``max_latency_ms``; its result, if it comes, is older
than one already published and is dropped (reason ``late``). While ``window`` results wait
(for their turn or for a slow ``emit``) no worker takes a new frame, so at most
``window + workers - 1`` results are ever held and the surplus frames are replaced at intake.

Faults: a ``work`` that raises makes the frame bad (reason from ``classify``) and the worker
goes on. A ``work`` that does not return within ``inference_timeout_ms`` makes the frame bad
(``timeout``); the worker's context is abandoned (its thread is left inside the call) and a new
worker thread opens a fresh context with ``reopen``; the abandoned thread frees its context
when, if ever, the call returns. ``stop`` stops intake (a frame still queued is dropped,
``shutdown``), waits (bounded) for running calls, publishes what is finished and lets each
worker free its own context after its call returned: a context is never freed during one.

Every submitted frame ends exactly once as published, dropped (replaced, late, shutdown) or
bad (by reason). With one worker this is the classic newest-frame-wins inference thread.
ROS-free: the node, the benchmark and the tests share it.
"""

import threading
import time
from typing import Callable, Dict, Optional, Sequence

from .affinity import pin_current_thread

PUBLISHED, DROPPED, BAD = 'published', 'dropped', 'bad'
DROP_REASONS = ('replaced', 'late', 'shutdown')
TIMEOUT = 'timeout'             # bad reason of a call that did not return in time
PUBLISH_ERROR = 'publish'       # bad reason of a frame whose emit raised
REOPEN_RETRY = (0.5, 30.0)      # seconds: first and longest wait between failed re-creations


class _Job:
    """One frame a worker took: its sequence number and whether its fate is decided."""

    __slots__ = ('seq', 'item', 'started', 'settled')

    def __init__(self, seq, item, started):
        self.seq, self.item, self.started, self.settled = seq, item, started, False


class _Slot:
    """One worker position: the generation of its current thread and the job that runs."""

    __slots__ = ('index', 'generation', 'job', 'thread', 'context')

    def __init__(self, index):
        self.index, self.generation, self.job, self.thread = index, 0, None, None
        self.context = None


class WorkerPool:
    """
    Run ``work(context, item)`` on N threads; ``emit(item, result)`` in order, one at a time.

    contexts: one per worker (model contexts the pool then owns: ``close(context)`` frees each
    when its worker ends); None: each worker's context is its index. reopen(index, old): a fresh
    context for worker ``index`` after ``old`` hung (required with contexts and a timeout).
    on_error(exc): told about exceptions of ``work`` (after ``classify(exc)`` named the bad
    reason, default 'error'), of ``emit`` and of ``reopen``. on_timeout(index, seconds): a call
    on worker ``index`` has not returned for ``seconds``; its context is being re-created.
    on_settle(item, fate, reason): each frame's fate, called once per frame with the pool's lock
    held (keep it short; do not call into the pool). max_latency_ms, inference_timeout_ms: 0 or
    None disables. window: finished results that may wait before the frame holding them back is
    skipped, and before workers pause (default 2 x workers). cpu_affinity: CPU ids every worker
    thread pins itself to (read back into ``affinity``).
    """

    def __init__(self, workers: int, work: Callable[[object, object], object],
                 emit: Optional[Callable[[object, object], None]] = None, name: str = 'inference',
                 cpu_affinity: Optional[Sequence[int]] = None,
                 on_error: Optional[Callable[[BaseException], None]] = None, *,
                 contexts: Optional[Sequence[object]] = None,
                 reopen: Optional[Callable[[int, object], object]] = None,
                 close: Optional[Callable[[object], None]] = None,
                 classify: Optional[Callable[[BaseException], str]] = None,
                 max_latency_ms: Optional[float] = None,
                 inference_timeout_ms: Optional[float] = None,
                 window: Optional[int] = None,
                 on_timeout: Optional[Callable[[int, float], None]] = None,
                 on_settle: Optional[Callable[[object, str, str], None]] = None):
        if workers < 1:
            raise ValueError(f'workers must be >= 1, got {workers}')
        if contexts is not None and len(contexts) != workers:
            raise ValueError(f'{len(contexts)} contexts for {workers} workers')
        if contexts is not None and inference_timeout_ms and reopen is None:
            raise ValueError('an inference timeout needs reopen to re-create a hung context')
        self._work, self._emit, self._on_error = work, emit, on_error
        self._reopen, self._close, self._classify = reopen, close, classify
        self._on_timeout, self._on_settle = on_timeout, on_settle
        self._max_latency = (max_latency_ms or 0) / 1000.0
        self._timeout = (inference_timeout_ms or 0) / 1000.0
        self._window = int(window) if window else 2 * workers
        if self._window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        self._cpu_affinity = tuple(cpu_affinity or ())
        self._name = name
        lock = threading.RLock()
        self._cond = threading.Condition(lock)          # fates settled (stop, wait_idle)
        self._work_cond = threading.Condition(lock)     # idle workers: a frame, window room
        self._pub_cond = threading.Condition(lock)      # the publisher: results, deadlines
        self._emitting = False          # someone (publisher or a worker) is inside emit
        self._pending, self._has_pending = None, False
        self._stopping = False          # no intake, no new jobs
        self._final = False             # stop() is done waiting: publish what is ready, exit
        self._publish_ready = True
        self._next_seq = 0              # given to the next frame a worker takes
        self._head = 0                  # the sequence number the publisher waits for
        self._jobs: Dict[int, _Job] = {}        # taken, not finished, fate undecided
        self._ready: Dict[int, tuple] = {}      # finished: (job, result) waiting for their turn
        self.submitted = self.published = 0
        self._drops = dict.fromkeys(DROP_REASONS, 0)
        self._bad: Dict[str, int] = {}
        self._settled = 0
        self.timeouts = self.recreated = 0
        self.hung = 0                   # abandoned calls that have not returned
        self.peak_waiting = 0           # most finished results ever held for an earlier frame
        self.affinity: Dict[int, Optional[set]] = {}
        self._slots = [_Slot(i) for i in range(workers)]
        self._publisher = threading.Thread(target=self._publish_loop, daemon=True,
                                           name=f'{name}-publish')
        self._publisher.start()
        for slot in self._slots:
            context = slot.index if contexts is None else contexts[slot.index]
            slot.context = context
            self._start_worker(slot, context, reopen=False)

    # -- counters -------------------------------------------------------------------------
    @property
    def workers(self) -> int:
        return len(self._slots)

    @property
    def dropped(self) -> int:
        """Return the number of frames dropped, all reasons."""
        with self._cond:
            return sum(self._drops.values())

    @property
    def bad(self) -> int:
        """Return the number of bad frames, all reasons."""
        with self._cond:
            return sum(self._bad.values())

    def counts(self) -> dict:
        """Return submitted, published, dropped and bad (per reason), timeouts, re-created."""
        with self._cond:
            return {'submitted': self.submitted, 'published': self.published,
                    'dropped': dict(self._drops), 'bad': dict(self._bad),
                    'timeouts': self.timeouts, 'recreated': self.recreated, 'hung': self.hung,
                    'in_flight': len(self._jobs) + len(self._ready)}

    def _settle(self, job_or_item, fate: str, reason: str = '') -> bool:
        """Decide one frame's fate, once (call with the lock held); False if already decided."""
        if isinstance(job_or_item, _Job):
            if job_or_item.settled:
                return False
            job_or_item.settled = True
            item = job_or_item.item
        else:
            item = job_or_item
        if fate == PUBLISHED:
            self.published += 1
        elif fate == DROPPED:
            self._drops[reason] += 1
        else:
            self._bad[reason] = self._bad.get(reason, 0) + 1
        self._settled += 1
        if self._on_settle is not None:
            self._on_settle(item, fate, reason)
        self._cond.notify_all()
        return True

    # -- intake ---------------------------------------------------------------------------
    def submit(self, item) -> bool:
        """Hand over a new item; False when it replaced one still waiting, or after stop."""
        with self._cond:
            self.submitted += 1
            if self._stopping:
                self._settle(item, DROPPED, 'shutdown')
                return False
            replaced = self._has_pending
            if replaced:
                self._settle(self._pending, DROPPED, 'replaced')
            self._pending, self._has_pending = item, True
            if not replaced:            # a replacement finds the worker already woken
                self._work_cond.notify()
        return not replaced

    # -- workers --------------------------------------------------------------------------
    def _start_worker(self, slot, context, reopen):
        thread = threading.Thread(target=self._run, args=(slot, slot.generation, context,
                                                          reopen),
                                  daemon=True, name=f'{self._name}-{slot.index}')
        slot.thread = thread
        thread.start()

    def _open_again(self, slot, generation, old):
        """Re-create the context of a hung worker; retry with a growing wait on failure."""
        if self._reopen is None:
            return slot.index
        wait = REOPEN_RETRY[0]
        while True:
            try:
                context = self._reopen(slot.index, old)
            except Exception as exc:  # e.g. the NPU is gone: say so, try again later
                self._report(exc)
                with self._cond:
                    if self._cond.wait_for(lambda: self._stopping
                                           or slot.generation != generation, wait):
                        return None
                wait = min(wait * 2, REOPEN_RETRY[1])
                continue
            with self._cond:
                self.recreated += 1
            return context

    def _run(self, slot, generation, context, reopen):
        if self._cpu_affinity:
            self.affinity[slot.index] = pin_current_thread(self._cpu_affinity)
        if reopen:
            context = self._open_again(slot, generation, context)
            if context is None:
                return
            with self._cond:
                if slot.generation == generation:
                    slot.context = context
        try:
            self._serve(slot, generation, context)
        finally:
            self._free(context)         # after the last call on it returned

    def _serve(self, slot, generation, context):
        while True:
            with self._cond:
                # backpressure: no new frame while `window` results wait to be published
                while not (self._has_pending and len(self._ready) < self._window) \
                        and not self._stopping and slot.generation == generation:
                    self._work_cond.wait()
                if self._stopping or slot.generation != generation:
                    return
                item, self._pending, self._has_pending = self._pending, None, False
                job = _Job(self._next_seq, item, time.monotonic())
                self._next_seq += 1
                self._jobs[job.seq] = job
                slot.job = job      # the watchdog looks again within a timeout: no wake-up
            error = None
            try:
                result = self._work(context, item)
            except Exception as exc:  # keep serving; the owner decides how to report it
                result, error = None, exc
            inline = False
            with self._cond:
                current = slot.generation == generation
                if current:
                    slot.job = None
                else:
                    self.hung -= 1      # the abandoned call returned at last
                self._jobs.pop(job.seq, None)
                if job.settled:         # timed out or dropped at shutdown meanwhile
                    pass
                elif error is not None:
                    self._settle(job, BAD, self._reason(error))
                elif job.seq < self._head:
                    self._settle(job, DROPPED, 'late')
                elif self._may_emit_here(job, current):
                    inline, publish = True, self._publish_ready
                    self._emitting = True
                    self._head += 1
                else:
                    self._ready[job.seq] = (job, result)
                    waiting = len(self._ready) - (self._head in self._ready)
                    self.peak_waiting = max(self.peak_waiting, waiting)
                if not inline:      # a result, a skipped head or a hung thread back: look
                    self._pub_cond.notify()
                self._cond.notify_all()     # stop() waits for the running calls to return
            if inline:
                self._emit_one(job, result, publish)
                with self._cond:
                    self._emitting = False
                    if self._ready or self._final:      # finished meanwhile: their turn
                        self._pub_cond.notify()
            if error is not None and current:
                self._report(error)
            if not current:
                return

    def _may_emit_here(self, job, current) -> bool:
        """Tell whether a worker publishes its result itself (lock held): see the docstring."""
        return (current and job.seq == self._head and not self._emitting and not self._final
                and not self._has_pending and not self._ready)

    def _reason(self, exc) -> str:
        if self._classify is None:
            return 'error'
        try:
            return str(self._classify(exc))
        except Exception:  # a broken classifier must not lose the frame
            return 'error'

    def _free(self, context):
        if self._close is not None and context is not None:
            try:
                self._close(context)
            except Exception as exc:  # report; the other contexts are still freed
                self._report(exc)

    def _report(self, exc):
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:  # a reporting failure must not kill a worker
                pass

    # -- the publisher and the watchdog ---------------------------------------------------
    def _collect(self, now):
        """Pop the results whose turn it is (lock held); return them and when to look again."""
        batch, wake = [], None
        while self._head < self._next_seq:
            seq = self._head
            if seq in self._ready:
                batch.append(self._ready.pop(seq))
            elif seq in self._jobs:
                job = self._jobs[seq]
                if not self._ready:
                    break               # nothing waits behind it: no reason to skip it
                overdue = self._max_latency and now - job.started >= self._max_latency
                if not (overdue or len(self._ready) >= self._window):
                    if self._max_latency:
                        wake = job.started + self._max_latency
                    break
                # skipped: stays in _jobs; its result, if it comes, is late
            self._head += 1
        return batch, wake

    def _watchdog(self, now):
        """Abandon calls running past the timeout (lock held); return events and next check."""
        if not self._timeout:
            return [], None
        # a call started after now ends its timeout after now + timeout: looking again then at
        # the latest needs no wake-up per call
        events, wake = [], now + self._timeout
        for slot in self._slots:
            job = slot.job
            if job is None:
                continue
            deadline = job.started + self._timeout
            if now < deadline:
                wake = min(wake, deadline)
                continue
            self._jobs.pop(job.seq, None)
            self._settle(job, BAD, TIMEOUT)
            self.timeouts += 1
            self.hung += 1
            slot.job = None
            slot.generation += 1        # the running thread is abandoned, never reused
            events.append((slot.index, now - job.started))
            if not self._stopping:
                self._start_worker(slot, slot.context, reopen=True)
                slot.context = None
        return events, wake

    def _publish_loop(self):
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    events, wake_timeout = self._watchdog(now)
                    batch, wake_order = [], None
                    full = len(self._ready) >= self._window
                    if not self._emitting:      # a worker publishing its own: after it
                        batch, wake_order = self._collect(now)
                        if self._final:
                            batch += [self._ready.pop(s) for s in sorted(self._ready)]
                    if batch or events or (self._final and not self._emitting):
                        if batch:
                            self._emitting = True
                            if full:
                                self._work_cond.notify_all()    # room in the window again
                        break
                    wakes = [w for w in (wake_timeout, wake_order) if w is not None]
                    self._pub_cond.wait(max(0.0, min(wakes) - now) + 0.001 if wakes else None)
                publish, final = self._publish_ready, self._final
            for index, seconds in events:
                if self._on_timeout is not None:
                    try:
                        self._on_timeout(index, seconds)
                    except Exception as exc:  # reporting must not stop the publisher
                        self._report(exc)
            for job, result in batch:
                self._emit_one(job, result, publish)
            if batch:
                with self._cond:
                    self._emitting = False
            if final:
                with self._cond:
                    if not self._ready:
                        return

    def _emit_one(self, job, result, publish):
        if not publish:
            with self._cond:
                self._settle(job, DROPPED, 'shutdown')
            return
        try:
            if self._emit is not None:
                self._emit(job.item, result)
        except Exception as exc:  # an emit failure must not stall the order
            with self._cond:
                self._settle(job, BAD, PUBLISH_ERROR)
            self._report(exc)
            return
        with self._cond:
            self._settle(job, PUBLISHED)

    # -- waiting and shutdown -------------------------------------------------------------
    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every submitted frame has its fate (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._has_pending and self._settled >= self.submitted, timeout)

    def stop(self, timeout: float = 5.0, publish_ready: bool = True) -> bool:
        """
        Stop intake, wait up to ``timeout`` s for running calls, publish what finished, end.

        A frame still queued, and a call still running after ``timeout``, are dropped
        (shutdown). publish_ready=False drops finished results instead of publishing them
        (e.g. when the publishers are already gone). Each worker frees its context when its
        call has returned, never during it. True when every worker thread ended in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._stopping:
                return all(not s.thread.is_alive() for s in self._slots) and not self.hung
            self._stopping = True
            if self._has_pending:
                self._settle(self._pending, DROPPED, 'shutdown')
                self._pending, self._has_pending = None, False
            self._work_cond.notify_all()
            self._pub_cond.notify_all()
            self._cond.notify_all()         # re-creations waiting to retry
            self._cond.wait_for(lambda: all(s.job is None for s in self._slots), timeout)
            for job in list(self._jobs.values()):   # still running, or skipped and running
                self._settle(job, DROPPED, 'shutdown')
            self._jobs.clear()
            self._publish_ready = publish_ready
            self._final = True
            self._pub_cond.notify_all()
        me = threading.current_thread()
        if self._publisher is not me:
            self._publisher.join(max(0.0, deadline - time.monotonic()) + 1.0)
        ended = True
        for slot in self._slots:
            if slot.thread is not me:
                slot.thread.join(max(0.0, deadline - time.monotonic()))
            ended = ended and not slot.thread.is_alive()
        with self._cond:
            return ended and self.hung == 0
