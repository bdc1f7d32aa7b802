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
QoS profiles of the nodes' topics, and the hint logged when a camera's QoS cannot match.

``image_qos`` (``sensor_data`` | ``reliable``) is the short form; rclpy's
``QoSOverridingOptions`` also let single policies be set per topic at start-up
(``qos_overrides./<topic>.subscription.reliability: reliable``), as every rclcpp node allows.
"""

import copy

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind,
                       qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from rclpy.qos_overriding_options import QoSOverridingOptions

try:  # Iron and newer
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks

__all__ = ['DEBUG_QOS', 'image_qos', 'image_qos_overrides', 'incompatible_qos_hint',
           'LATCHED_QOS', 'RELIABLE_IMAGE_QOS', 'SubscriptionEventCallbacks']

#: Image subscription QoS by ``image_qos`` value.
RELIABLE_IMAGE_QOS = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                                reliability=ReliabilityPolicy.RELIABLE,
                                durability=DurabilityPolicy.VOLATILE)
LATCHED_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
#: Debug images: reliable, keep the newest only (rviz and rqt_image_view accept both).
DEBUG_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)


def image_qos(name: str) -> QoSProfile:
    """
    Return the subscription QoS for an ``image_qos`` parameter value: a copy of its own.

    rclpy applies ``qos_overrides`` parameters to the profile in place, so a shared profile
    would carry one node's overrides into every later subscription.
    """
    return copy.copy(qos_profile_sensor_data if name == 'sensor_data' else RELIABLE_IMAGE_QOS)


def image_qos_overrides() -> QoSOverridingOptions:
    """Return the overriding options of an image subscription (history, depth, reliability)."""
    return QoSOverridingOptions.with_default_policies()


def incompatible_qos_hint(topic: str, qos_name: str, event) -> str:
    """Return the warning for an incompatible-QoS event on the image subscription."""
    policy = qos_policy_name_from_kind(event.last_policy_kind)
    if qos_name != 'sensor_data':
        hint = 'most cameras publish best effort: start this node with image_qos:=sensor_data'
    else:
        hint = "compare the publisher's QoS with this subscription's (best effort, volatile)"
    return (f'a publisher on {topic} offers a QoS incompatible with this subscription '
            f'(image_qos:={qos_name}; incompatible policy: {policy}): its images will not '
            f'arrive. Hint: {hint}')
