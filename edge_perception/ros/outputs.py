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
The publishers of one task node's results for one camera, and how a frame becomes messages.

Each task node defines one ``Outputs`` subclass (detections, masks, keypoints, classes):
``publish`` turns a frame's result into messages, ``draw`` gives its debug image and
``targets`` its TROS ai_msgs Targets. A node serving several cameras (``image_topics``) has
one ``Outputs`` per camera, its topics under the camera's prefix.
"""

from typing import List


def join(prefix: str, name: str) -> str:
    """Return the topic ``name`` under ``prefix`` ('' keeps it relative as it is)."""
    return f'{prefix.rstrip("/")}/{name}' if prefix else name


class Outputs:
    """A task's publishers under one prefix; subclasses create them and fill them per frame."""

    def __init__(self, node, prefix: str = ''):
        self.node = node
        self.prefix = prefix
        self._publishers: List[object] = []

    def topic(self, name: str) -> str:
        """Return the topic ``name`` under this camera's prefix."""
        return join(self.prefix, name)

    def publisher(self, msg_type, name: str, qos=10):
        """Create (and keep, for ``destroy``) a publisher of ``name`` under the prefix."""
        pub = self.node.create_publisher(msg_type, self.topic(name), qos)
        self._publishers.append(pub)
        return pub

    def publish(self, header, result) -> None:
        """Publish one frame's results (called in frame order)."""
        raise NotImplementedError

    def draw(self, bgr, output):
        """Return the debug image of one frame's results."""
        raise NotImplementedError

    def targets(self, output, width: int, height: int):
        """Return the frame's results as ai_msgs/Target messages (TROS)."""
        raise NotImplementedError

    def destroy(self) -> None:
        """Destroy the publishers (cleanup)."""
        for pub in self._publishers:
            self.node.destroy_publisher(pub)
        self._publishers = []
