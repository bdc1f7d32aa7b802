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
Frame counters, recent latencies and the node's ``/diagnostics`` status.

``NodeStats`` is written by the workers and the publisher thread and read by the 1 Hz
diagnostics timer; ``counters`` adds the worker pools' exactly-once accounting (every frame
received ends once: published, dropped or bad, by reason), summed over every activation.
"""

import collections
import statistics
import threading
import time

from .messages import diagnostic_status

STAGES = ('convert', 'pre', 'infer', 'decode', 'publish')
LATENCY_WINDOW = 100            # frames the latency medians are taken over
DIAGNOSTICS_PERIOD = 1.0        # seconds
#: Bad-frame reasons /diagnostics always lists (bad_<reason>): the pool's and the node's.
BAD_REASONS = ('malformed', 'error', 'timeout', 'publish')


class NodeStats:
    """Frame counters and recent per-stage latencies, shared by the workers and the timer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.frames_in = 0
        self.frames_out = 0
        self.frames_bad = 0
        self.frames_paused = 0          # received while ~/enable was false: not inferred
        self.errors = 0
        self.last_error = ''
        self.last_timeout = ''
        self.latency = {stage: collections.deque(maxlen=LATENCY_WINDOW) for stage in STAGES}
        self.done = collections.deque(maxlen=LATENCY_WINDOW)     # monotonic times of outputs
        self.retired = None             # pool counts of the pools of earlier activations

    def record(self, **seconds):
        """Count one published frame and its stage latencies (seconds)."""
        with self.lock:
            self.frames_out += 1
            self.done.append(time.monotonic())
            for stage, value in seconds.items():
                self.latency[stage].append(value)

    def medians_ms(self):
        """Return the median latency of each stage over the window, in ms (None: no data)."""
        with self.lock:
            return {stage: statistics.median(v) * 1e3 if v else None
                    for stage, v in self.latency.items()}

    def recent_fps(self) -> float:
        """Return the output rate over the latency window."""
        with self.lock:
            if len(self.done) < 2:
                return 0.0
            span = self.done[-1] - self.done[0]
            return (len(self.done) - 1) / span if span > 0 else 0.0

    def retire(self, pool_counts: dict):
        """Keep the counts of a pool that is stopped (deactivate), so counters keep adding up."""
        with self.lock:
            self.retired = add_counts(self.retired, pool_counts)


def add_counts(a, b):
    """Add two WorkerPool.counts() dicts (either may be None)."""
    if a is None or b is None:
        return b if a is None else a
    out = {}
    for key in set(a) | set(b):
        x, y = a.get(key, 0), b.get(key, 0)
        if isinstance(x, dict) or isinstance(y, dict):
            x, y = x or {}, y or {}
            out[key] = {k: x.get(k, 0) + y.get(k, 0) for k in set(x) | set(y)}
        else:
            out[key] = x + y
    return out


def counters(stats: NodeStats, pool) -> dict:
    """Frame counters so far: in, out, dropped, bad, errors, and the pools' accounting."""
    with stats.lock:
        out = {'frames_in': stats.frames_in, 'frames_out': stats.frames_out,
               'frames_bad': stats.frames_bad, 'errors': stats.errors,
               'frames_paused': stats.frames_paused}
        retired = stats.retired
    counts = add_counts(retired, pool.counts() if pool is not None else None)
    out['frames_dropped'] = sum(counts['dropped'].values()) if counts else 0
    if counts:      # every frame in ends once: published, dropped or bad (by reason)
        out['frames_published'] = counts['published']
        out.update({f'dropped_{reason}': n for reason, n in counts['dropped'].items()})
        for reason in sorted(set(BAD_REASONS) | set(counts['bad'])):
            out[f'bad_{reason}'] = counts['bad'].get(reason, 0)
        out['context_timeouts'] = counts['timeouts']
        out['contexts_recreated'] = counts['recreated']
        out['contexts_hung'] = counts['hung']
    return out


class Diagnostics:
    """The 1 Hz status of one node: level and message from what changed since the last one."""

    def __init__(self, stats: NodeStats):
        self._stats = stats
        self._last = (time.monotonic(), 0, 0, 0, 0)

    def status(self, name: str, counts: dict, state: str, topics: str, workers: int,
               model: str, hardware_id: str):
        """Return the DiagnosticStatus for ``counts`` (a ``counters`` dict) now."""
        now = time.monotonic()
        last_t, last_out, last_bad, last_errors, last_timeouts = self._last
        timeouts_total = counts.get('context_timeouts', 0)
        self._last = (now, counts['frames_out'], counts['frames_bad'], counts['errors'],
                      timeouts_total)
        fps = (counts['frames_out'] - last_out) / max(now - last_t, 1e-6)
        bad, errors = counts['frames_bad'] - last_bad, counts['errors'] - last_errors
        timeouts = timeouts_total - last_timeouts
        if timeouts or counts.get('contexts_hung'):
            level, message = 'ERROR', (f'{self._stats.last_timeout}; '
                                       f'{counts["contexts_hung"]} context(s) still hung')
        elif errors:
            level, message = 'ERROR', f'inference failed: {self._stats.last_error}'
        elif bad:
            level, message = 'WARN', f'{bad} malformed frame(s) skipped on {topics}'
        elif state != 'active':
            level, message = 'WARN', f'{state}: not inferring'
        elif counts['frames_in'] == 0:
            level, message = 'WARN', f'no images received yet on {topics}'
        else:
            level, message = 'OK', f'{fps:.1f} fps'
        values = dict(counts)
        values['fps'] = fps
        for stage, ms in self._stats.medians_ms().items():
            values[f'latency_{stage}_ms'] = 'n/a' if ms is None else ms
        values['latency_window'] = LATENCY_WINDOW
        values['topic'] = topics
        values['workers'] = workers
        values['model'] = model
        values['state'] = state
        return diagnostic_status(name, level, message, values, hardware_id)
