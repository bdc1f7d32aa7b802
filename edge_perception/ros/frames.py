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
Received images, converted lazily and at most once however many nodes use them.

A ``SharedFrame`` wraps one sensor_msgs/Image or CompressedImage. The first inference worker
that asks for its pixels converts it (on the worker thread, not in the subscription callback);
every other node of the process that gets the same frame reuses that conversion. A malformed
frame fails the same way for each of them, without a second decoding attempt. YUV frames
(nv12, yuyv, uyvy) can stay in their encoding (``keep_yuv``: views of the message, which
``preprocess`` converts only as far as the model needs); the BGR form is made only when asked.
"""

import threading
import time

from .image_conversions import compressed_to_bgr, ENCODINGS, image_to_frame
from ..errors import ImageFormatError


class SharedFrame:
    """One received image message and its conversions (BGR, or NV12 kept as it is)."""

    __slots__ = ('msg', 'compressed', '_lock', '_cache', 'conversions', 'received')

    def __init__(self, msg, compressed: bool = False):
        self.msg = msg
        self.compressed = bool(compressed)
        self._lock = threading.Lock()
        self._cache = {}
        self.conversions = 0
        self.received = time.monotonic()

    @property
    def header(self):
        """Return the std_msgs/Header of the message, which every output copies."""
        return self.msg.header

    def image(self, keep_nv12: bool = False, keep_yuv: bool = False):
        """
        Return the frame for a model: a BGR array, or the YUV frame as it came.

        ``keep_nv12``: an nv12 image stays an ``Nv12Frame``; ``keep_yuv``: nv12, yuyv and uyvy
        images stay ``Nv12Frame`` / ``Yuv422Frame``; anything else is BGR. Converts on the first
        call for each form only; later calls (from any thread) get the same object. The arrays
        may view the message buffer: treat them as read-only.
        Raises ImageFormatError for a malformed message, every time it is asked.
        """
        key = not self.compressed and _stays_yuv(self.msg.encoding, keep_nv12, keep_yuv)
        with self._lock:
            if key not in self._cache:
                self.conversions += 1
                try:
                    if self.compressed:
                        value = compressed_to_bgr(self.msg)
                    else:
                        value = image_to_frame(self.msg, key, keep_yuv=key)
                except ImageFormatError as exc:
                    value = exc
                self._cache[key] = value
            value = self._cache[key]
        if isinstance(value, ImageFormatError):
            raise ImageFormatError(str(value))
        return value


def _stays_yuv(encoding: str, keep_nv12: bool, keep_yuv: bool) -> bool:
    """Return True when an Image of ``encoding`` is handed on in its YUV encoding."""
    if encoding == 'nv12':
        return bool(keep_nv12 or keep_yuv)
    spec = ENCODINGS.get(encoding)
    return bool(keep_yuv) and spec is not None and spec.yuv422 is not None
