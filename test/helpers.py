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
"""Helpers shared by the ROS tests: waiting, collecting messages, probe nodes, raw images."""

import array
import os
import threading
import time

import numpy as np

DISCOVERY_TIMEOUT = 10.0      # seconds; discovery is usually < 0.1 s but sometimes ~3 s
RESULT_TIMEOUT = 10.0
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for(predicate, timeout=RESULT_TIMEOUT, interval=0.01):
    """Poll ``predicate`` until it returns something truthy; return that, or None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def subprocess_env():
    """Return this process's environment (LD_LIBRARY_PATH, domain id...), repo importable."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    env['PYTHONUNBUFFERED'] = '1'
    return env


class Collector:
    """Messages received on one subscription, thread-safe, with waiting helpers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._messages = []

    def __call__(self, msg):
        with self._lock:
            self._messages.append(msg)

    @property
    def messages(self):
        with self._lock:
            return list(self._messages)

    def clear(self):
        with self._lock:
            self._messages.clear()

    def wait(self, predicate=lambda msg: True, timeout=RESULT_TIMEOUT):
        """Wait for the first message matching ``predicate``; return it, or None."""
        def find():
            return next((m for m in self.messages if predicate(m)), None)
        return wait_for(find, timeout)


def make_probe_class():
    """Return the Probe node class (built lazily: only ROS tests import rclpy)."""
    from rclpy.node import Node

    class Probe(Node):
        """A test node: subscribes and publishes what a test needs."""

        def __init__(self, name='probe', **kwargs):
            super().__init__(name, **kwargs)

        def collect(self, msg_type, topic, qos=10):
            collector = Collector()
            collector.subscription = self.create_subscription(msg_type, topic, collector, qos)
            return collector

        def publisher_for(self, msg_type, topic, qos, subscribers=1,
                          timeout=DISCOVERY_TIMEOUT):
            """Create a publisher and wait until it sees ``subscribers`` subscriptions."""
            pub = self.create_publisher(msg_type, topic, qos)
            assert wait_for(lambda: pub.get_subscription_count() >= subscribers, timeout), \
                f'no subscriber discovered on {pub.topic_name} within {timeout} s'
            return pub

    return Probe


def raw_image(pixels: np.ndarray, encoding: str, header=None, padding: int = 0,
              bigendian: bool = False, height=None, width=None):
    """
    Build a sensor_msgs/Image of ``pixels`` (rows first), ``padding`` junk bytes a row.

    height/width default to the array's; pass them for planar (nv12) or broken messages.
    """
    from sensor_msgs.msg import Image
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype == np.uint16:
        pixels = pixels.astype('>u2' if bigendian else '<u2')
    rows = pixels.reshape(pixels.shape[0], -1).view(np.uint8)
    if padding:
        rows = np.concatenate([rows, np.full((rows.shape[0], padding), 0xAB, np.uint8)], axis=1)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height = pixels.shape[0] if height is None else height
    msg.width = pixels.shape[1] if width is None else width
    msg.encoding = encoding
    msg.is_bigendian = int(bigendian)
    msg.step = rows.shape[1]
    msg.data = array.array('B', rows.tobytes())
    return msg


def stamped(frame_id: str, sec: int, nanosec: int = 0):
    """Build a std_msgs/Header."""
    from std_msgs.msg import Header
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = sec, nanosec
    return header


def diagnostic_values(array_msg, name_prefix: str):
    """Return {key: value} of the first status named ``name_prefix``..., or None."""
    for status in array_msg.status:
        if status.name.startswith(name_prefix):
            values = {kv.key: kv.value for kv in status.values}
            values['_level'], values['_message'] = status.level, status.message
            return values
    return None
