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
The node's status topics: ``label_info`` (latched) and ``/diagnostics`` (1 Hz timer).

vision_msgs 4.0.0 (Humble's first release) has no ``LabelInfo``: the node then publishes none
and says so once per process (a container's nodes all lack it alike). The diagnostics status
(``diagnostics.Diagnostics``) gets the result stages' own counts appended (e.g. depth pairing).
"""

import threading

from diagnostic_msgs.msg import DiagnosticArray, KeyValue

from .diagnostics import DIAGNOSTICS_PERIOD
from .messages import diagnostic_array, LABEL_INFO_MISSING, label_info_msg, LabelInfo
from .qos import LATCHED_QOS

_NO_LABEL_INFO_LOGGED = threading.Event()


def _warn_once_no_label_info(logger):
    """Log LABEL_INFO_MISSING once per process (a container's nodes all lack it alike)."""
    if not _NO_LABEL_INFO_LOGGED.is_set():
        _NO_LABEL_INFO_LOGGED.set()
        logger.warning(LABEL_INFO_MISSING)


class StatusPublishing:
    """``label_info`` and ``/diagnostics`` of one node (``stages()``: its result stages)."""

    def __init__(self, node, diagnostics, stages):
        self._node = node
        self._diagnostics = diagnostics
        self._stages = stages
        self._label_pub = self._diag_pub = self._timer = None

    def create(self, on_timer):
        """Create the publishers and the 1 Hz timer calling ``on_timer`` (configure)."""
        node = self._node
        self._label_pub = None
        if LabelInfo is not None:
            self._label_pub = node.create_publisher(LabelInfo, 'label_info', LATCHED_QOS)
        else:
            _warn_once_no_label_info(node.get_logger())
        self._diag_pub = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._timer = node.create_timer(DIAGNOSTICS_PERIOD, on_timer)

    def destroy(self):
        """Destroy the timer and the publishers (cleanup, a failed configure)."""
        node = self._node
        if self._timer is not None:
            # destroy only: rclpy destroys a timer once the executor no longer holds it, while
            # cancel() from this thread races the executor, whose call of a timer it already
            # took as ready then raises "timer is canceled" and ends its spin
            timer, self._timer = self._timer, None
            node.destroy_timer(timer)
        for pub in (self._label_pub, self._diag_pub):
            if pub is not None:
                node.destroy_publisher(pub)
        self._label_pub = self._diag_pub = None

    def publish_label_info(self, model):
        """Publish the class table of ``model`` (nothing before configure or without it)."""
        if self._label_pub is None or model is None:    # vision_msgs < 4.1.0 (said once)
            return
        threshold = float(getattr(model.options, 'confidence_threshold', 0.0))
        msg = label_info_msg(model.class_names, threshold)
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._label_pub.publish(msg)

    def publish_diagnostics(self, purpose, counts, state, topics, workers, description,
                            hardware_id):
        """Publish one /diagnostics status of the node (``counts``: its ``counters()``)."""
        if self._diag_pub is None:
            return
        node = self._node
        status = self._diagnostics.status(f'{node.get_fully_qualified_name()}: {purpose}',
                                          counts, state, topics, workers, description,
                                          hardware_id)
        for stage in self._stages():        # e.g. depth pairing counts and reasons
            extra = getattr(stage, 'diagnostics', None)
            if extra is not None:
                status.values += [KeyValue(key=str(k), value=str(v)) for k, v in extra().items()]
        self._diag_pub.publish(diagnostic_array([status], node.get_clock().now().to_msg()))
