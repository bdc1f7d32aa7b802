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
What a node does when a frame or a context fails: count it, log it (throttled), say it once.

``WorkerFaults`` is given to the worker pool: ``on_error`` counts a malformed frame
(``frames_bad``, WARN in /diagnostics) or a failed inference (``errors``, ERROR with the last
error), ``classify`` names the pool's bad-frame reason, ``on_timeout`` records a hung
inference (ERROR until the context is re-created), ``warn_once`` logs a model's finding once
per node however many workers' models find it.
"""

from ..errors import ImageFormatError

LOG_THROTTLE = 5.0              # seconds between repeated error lines


class WorkerFaults:
    """Counting and logging of failed frames and contexts (``stats``: a NodeStats)."""

    def __init__(self, logger, stats, topics):
        self._logger = logger
        self._stats = stats
        self._topics = topics           # callable: the cameras' topics for log lines
        self._warned = set()

    def warn_once(self, text: str):
        """Log a model's warning once per node (every worker's model may find the same)."""
        with self._stats.lock:
            if text in self._warned:
                return
            self._warned.add(text)
        self._logger.warning(text)

    @staticmethod
    def classify(exc) -> str:
        """Return the pool's bad-frame reason of an exception raised for one frame."""
        return 'malformed' if isinstance(exc, ImageFormatError) else 'error'

    def on_error(self, exc):
        """Count and log (throttled) a frame that could not be converted or inferred."""
        if isinstance(exc, ImageFormatError):
            with self._stats.lock:
                self._stats.frames_bad += 1
            self._logger.error(f'skipping a malformed frame on {self._topics()}: {exc}',
                               throttle_duration_sec=LOG_THROTTLE)
            return
        with self._stats.lock:
            self._stats.errors += 1
            self._stats.last_error = f'{type(exc).__name__}: {exc}'
        self._logger.error(f'inference failed on a frame from {self._topics()}: '
                           f'{type(exc).__name__}: {exc}', throttle_duration_sec=LOG_THROTTLE)

    def on_timeout(self, index, seconds, timeout_ms):
        """Record and log an inference that did not return within ``timeout_ms``."""
        text = (f'worker {index}: inference did not return within {timeout_ms} ms '
                f'({seconds:.1f} s so far): its context is marked bad and a fresh one is loaded')
        with self._stats.lock:
            self._stats.last_timeout = text
        self._logger.error(text)
