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
A node's parameters: the list it declares, and what a set of changes means while it runs.

``declared_parameters`` lists them in declaration order (after ``model``, whose card gives
the decoding defaults). rclpy has already checked each changed value against its descriptor
(type, range, read-only); ``parameter_changes`` checks what a descriptor cannot say (a
threshold outside [0, 1], class names the model lacks, tracker settings that contradict each
other) and returns every change at once, so the node's callback applies all of them or, on a
TypeError/ValueError, none.
"""

import dataclasses
from typing import Callable, Optional

from .parameters import (BACKEND_PARAMETER, check_array_type, control_parameters,
                         default_model, depth_parameters, MODEL_PARAMETER, pool_parameters,
                         resolve_classes, runtime_parameters, TRACKER_SETTINGS,
                         tracker_settings, tracking_parameters)
from ..model import card_options

__all__ = ['declare_parameters', 'declared_parameters', 'ParameterChanges', 'parameter_changes']


def declare_parameters(node, param, decode_parameters, task_parameters):
    """
    Declare every parameter of ``node``; return (decoding parameter names, task settings).

    ``model`` comes first: its card's options are the decoding parameters' defaults
    (``decode_parameters(options)``); ``task_parameters()`` gives the node's own few, whose
    current values are returned as the settings.
    """
    name, _, desc = MODEL_PARAMETER
    node.declare_parameter(name, default_model(), desc)
    decode = decode_parameters(card_options(param('model')))
    task_params = task_parameters()
    for name, default, desc in declared_parameters(node, decode, task_params):
        node.declare_parameter(name, default, desc)
    return {name for name, _, _ in decode}, {name: param(name) for name, _, _ in task_params}


def declared_parameters(node_class, decode, task_params):
    """Return the (name, default, descriptor) a node declares after ``model``, in order."""
    return ([BACKEND_PARAMETER] + control_parameters() + decode
            + runtime_parameters(node_class.DEBUG_TOPIC_TEXT or node_class.DEBUG_TOPIC)
            + pool_parameters() + task_params
            + (tracking_parameters() if node_class.TRACKING else [])
            + (depth_parameters() if node_class.DEPTH else []))


@dataclasses.dataclass
class ParameterChanges:
    """The changes one parameter callback makes (None: that part stays as it is)."""

    options: object = None              # the model's new decoding options
    threshold_changed: bool = False     # confidence_threshold: label_info is published again
    debug: Optional[bool] = None        # publish_debug_image
    settings: dict = dataclasses.field(default_factory=dict)   # task parameters
    tracking: object = None             # the tracker's new settings


def parameter_changes(params, model, decode_names, settings, tracking: bool,
                      tracker_values: Callable[[], dict]) -> ParameterChanges:
    """
    Return the ``ParameterChanges`` of ``params``; raise TypeError/ValueError for a bad one.

    ``model``: worker 0's (None before configure: decoding options are then only checked);
    ``decode_names``/``settings``: the node's decoding and task parameters; ``tracking``: the
    node declares tracker settings, whose current values ``tracker_values()`` returns.
    """
    options = model.options if model is not None else None
    updates, changes, tracker = {}, ParameterChanges(), {}
    for param in params:
        if tracking and param.name in TRACKER_SETTINGS:
            tracker[param.name] = param.value
        elif param.name not in decode_names and param.name in settings:
            changes.settings[param.name] = param.value
        elif param.name in ('confidence_threshold', 'nms_threshold'):
            value = float(param.value)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{param.name} must be within [0, 1], got {value}')
            updates[param.name] = value
        elif param.name in ('max_detections', 'top_k'):
            updates[param.name] = int(param.value)
        elif param.name == 'classes':
            value = check_array_type('classes', param.value)
            if model is not None:
                updates['classes'] = resolve_classes(value, model.class_names)
        elif param.name == 'publish_debug_image':
            changes.debug = bool(param.value)
    if options:
        changes.options = dataclasses.replace(options, **updates)
        changes.threshold_changed = getattr(changes.options, 'confidence_threshold', None) \
            != getattr(options, 'confidence_threshold', None)
    if tracker:         # checked together with the others' current values
        changes.tracking = tracker_settings({**tracker_values(), **tracker})
    return changes
