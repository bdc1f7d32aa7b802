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
The benchmark's raw sink (``--raw-sink``): answers timed on arrival, read back unchanged.

Oracles: header stamps set in the test and the very messages published (with detections),
through real rclpy / DDS.
"""

import time

from edge_perception import bench_pipeline as bp
from edge_perception.results import Detections
from edge_perception.ros.messages import detections_to_msg
import pytest
from vision_msgs.msg import Detection2DArray

from .helpers import DISCOVERY_TIMEOUT, wait_for

pytestmark = pytest.mark.ros


def test_the_raw_sink_times_on_arrival_and_reads_what_was_published(nodes, namespace):
    from rclpy.node import Node
    node = nodes(Node, 'bench', namespace=namespace)
    sink = bp.Sink(node, 'detections', raw=True)
    pub = node.create_publisher(Detection2DArray, 'detections', 10)
    assert wait_for(lambda: pub.get_subscription_count() > 0, DISCOVERY_TIMEOUT)
    dets = Detections([[10, 20, 110, 70], [0.5, 1.5, 2.5, 5.5], [5, 5, 9, 9]],
                      [0.9, 0.31, 0.5], [1, 0, 1], ('Normal', 'Fall'))
    sent = []
    for offset_ms in (50, 200):
        ns = time.time_ns() - offset_ms * 1_000_000
        msg = Detection2DArray()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
        msg.header.frame_id = 'cam'
        msg = detections_to_msg(dets, msg.header, 'index')
        pub.publish(msg)
        sent.append(msg)
        assert wait_for(lambda: sink.last is not None and bp.stamp_ns(sink.last.header.stamp)
                        == ns)
    latencies, received, stamps, detections = sink.snapshot()
    assert len(latencies) == 2 and detections == 6
    assert 50 <= latencies[0] < 200 and 200 <= latencies[1] < 350
    assert stamps == [bp.stamp_ns(m.header.stamp) for m in sent]
    assert sink.last == sent[-1]


def test_bench_pipeline_cli_passes_the_tracker_and_the_raw_sink(monkeypatch):
    """`edge-perception bench --pipeline --tracker none --raw-sink` reaches run_pipeline."""
    from edge_perception import bench_pipeline, cli
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(bench_pipeline, 'run_pipeline', record)
    assert cli.main(['bench', '--pipeline', '--tracker', 'none', '--raw-sink',
                     '--sizes', '640x480', '--modes', 'inprocess']) == 0
    assert seen['params'] == {'tracker': 'none'} and seen['raw_sink'] is True
    seen.clear()
    assert cli.main(['bench', '--pipeline', '--sizes', '640x480']) == 0
    assert seen['params'] is None and seen['raw_sink'] is False
