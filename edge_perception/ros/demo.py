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
The demo: a real ROS 2 graph on the CPU default, with output a person can look at.

A camera node publishes sample pictures (scikit-image's, plus rotated copies) on
/demo/image; ``detector_node`` runs as its own process (as ``ros2 run`` would start it) with
the demo model; a viewer node receives /demo/detections and the annotated
/demo/detections/image, writes one PNG per frame and an overview sheet, and prints each
frame's detections and end-to-end latency.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, Optional

import cv2
import numpy as np
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

try:
    from vision_msgs.msg import LabelInfo
except ImportError:        # vision_msgs 4.0.0: class_id carries names
    LabelInfo = None

from .image_conversions import bgr_to_image, image_to_bgr
from ..samples import sample_images
from ..share import demo_card

NAMESPACE = '/demo'
FRAME_ID = 'camera_optical_frame'
ANSWER_TIMEOUT = 60.0


class _Viewer(Node):
    """Collects detections and debug images by stamp."""

    def __init__(self):
        super().__init__('demo_viewer', namespace=NAMESPACE)
        self.results: Dict[int, dict] = {}
        self.changed = threading.Condition()
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(Detection2DArray, 'detections', self._on_detections, qos)
        self.create_subscription(Image, 'detections/image', self._on_image, qos)
        self.labels: Dict[str, str] = {}
        if LabelInfo is not None:   # class_id is an index into label_info (transient local)
            latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
            self.create_subscription(LabelInfo, 'label_info', self._on_labels, latched)

    def _on_labels(self, msg):
        with self.changed:
            self.labels = {str(c.class_id): c.class_name for c in msg.class_map}

    def class_name(self, class_id: str) -> str:
        """Return the class name of a hypothesis' class_id (via label_info)."""
        with self.changed:
            return self.labels.get(class_id, class_id)

    def _store(self, stamp, key, value):
        with self.changed:
            nanos = stamp.sec * 1_000_000_000 + stamp.nanosec
            self.results.setdefault(nanos, {})[key] = value
            self.results[nanos].setdefault(f'{key}_received', time.monotonic())
            self.changed.notify_all()

    def _on_detections(self, msg):
        self._store(msg.header.stamp, 'detections', msg)

    def _on_image(self, msg):
        self._store(msg.header.stamp, 'image', image_to_bgr(msg))

    def wait_for(self, nanos: int, timeout: float) -> Optional[dict]:
        with self.changed:
            self.changed.wait_for(
                lambda: {'detections', 'image'} <= set(self.results.get(nanos, {})), timeout)
            return self.results.get(nanos)


def _overview(images, columns: int = 4, cell: int = 320) -> np.ndarray:
    """Tile the annotated frames into one contact sheet."""
    tiles = []
    for image in images:
        scale = cell / max(image.shape[:2])
        small = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        tile = np.full((cell, cell, 3), 40, np.uint8)
        y, x = (cell - small.shape[0]) // 2, (cell - small.shape[1]) // 2
        tile[y:y + small.shape[0], x:x + small.shape[1]] = small
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.full((cell, cell, 3), 40, np.uint8))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def _start_detector(model: str) -> subprocess.Popen:
    command = [sys.executable, '-m', 'edge_perception.ros.detector_node', '--ros-args',
               '-r', f'__ns:={NAMESPACE}', '-p', f'model:={model}',
               '-p', 'publish_debug_image:=true', '-p', 'image_qos:=reliable',
               # unrelated stills, not a sequence: every picture's detections, untracked
               '-p', 'tracker:=none']
    print('starting:', ' '.join(command[1:]), flush=True)
    return subprocess.Popen(command)


def run_demo(model: Optional[str] = None, output: str = 'out/demo', period: float = 0.0) -> int:
    """Run the graph over every sample picture once; 0 when every frame was answered."""
    model = model or demo_card()
    samples = sample_images()
    os.makedirs(output, exist_ok=True)
    rclpy.init()
    detector = _start_detector(model)
    camera = Node('demo_camera', namespace=NAMESPACE)
    publisher = camera.create_publisher(
        Image, 'image', QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    viewer = _Viewer()
    executor = MultiThreadedExecutor(num_threads=2)
    for node in (camera, viewer):
        executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    summary, annotated, status = [], [], 0
    try:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while publisher.get_subscription_count() == 0 or \
                viewer.count_publishers(f'{NAMESPACE}/detections/image') == 0:
            if detector.poll() is not None:
                print(f'detector_node exited with status {detector.returncode}', file=sys.stderr)
                return detector.returncode or 1
            if time.monotonic() > deadline:
                print('detector_node did not come up within 60 s', file=sys.stderr)
                return 1
            time.sleep(0.1)
        print(f'\n{"frame":16s} {"size":>9s} {"latency":>9s}  detections')
        for index, (name, image) in enumerate(samples):
            msg = bgr_to_image(image)
            msg.header.frame_id = FRAME_ID
            msg.header.stamp = camera.get_clock().now().to_msg()
            nanos = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            sent = time.monotonic()
            publisher.publish(msg)
            result = viewer.wait_for(nanos, ANSWER_TIMEOUT)
            if not result or 'detections' not in result or 'image' not in result:
                print(f'{name:16s} no answer within {ANSWER_TIMEOUT:.0f} s', file=sys.stderr)
                status = 1
                continue
            latency = (result['detections_received'] - sent) * 1000
            objects = [{'class': viewer.class_name(d.results[0].hypothesis.class_id),
                        'score': round(d.results[0].hypothesis.score, 3),
                        'center': [round(d.bbox.center.position.x, 1),
                                   round(d.bbox.center.position.y, 1)],
                        'size': [round(d.bbox.size_x, 1), round(d.bbox.size_y, 1)]}
                       for d in result['detections'].detections]
            text = ', '.join(f"{o['class']} {o['score']:.2f} at {o['center']}" for o in objects)
            size = f'{image.shape[1]}x{image.shape[0]}'
            print(f'{name:16s} {size:>9s} {latency:7.0f}ms  {text or "-"}', flush=True)
            path = os.path.join(output, f'{index:02d}_{name}.png')
            cv2.imwrite(path, result['image'])
            annotated.append(result['image'])
            summary.append({'frame': name, 'file': path, 'latency_ms': round(latency, 1),
                            'frame_id': result['detections'].header.frame_id,
                            'detections': objects})
            if period:
                time.sleep(period)
        if annotated:
            cv2.imwrite(os.path.join(output, 'overview.png'), _overview(annotated))
        with open(os.path.join(output, 'detections.json'), 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=2)
        print(f'\n{len(annotated)}/{len(samples)} frames answered; annotated images, '
              f'overview.png and detections.json in {os.path.abspath(output)}')
    finally:
        detector.send_signal(signal.SIGINT)
        try:
            detector.wait(10)
        except subprocess.TimeoutExpired:
            detector.kill()
        executor.shutdown()
        camera.destroy_node()
        viewer.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return status
