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
The task nodes' parameters: names, defaults, descriptors, and the checks of their values.

Every parameter a node declares is listed here (a task node adds its own few through
``task_parameters``), so ``config/params/<task>.yaml`` and the README table have one source.
Ranges and read-only flags live in the descriptors, where rclpy enforces them before the
node's callback sees a value.
"""

import os
import re
from typing import Optional, Sequence, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, \
    ParameterType

DEFAULT_CARD = os.path.join('config', 'models', 'fall_detection.yaml')
TRANSPORTS = ('raw', 'compressed')
IMAGE_QOS = ('sensor_data', 'reliable')
#: ObjectHypothesis.class_id: the class index (looked up in label_info) or the class name.
CLASS_ID_FORMATS = ('index', 'name')
#: Parameters passed to load_model as decoding options when a node declares them.
LOAD_OPTIONS = ('confidence_threshold', 'nms_threshold', 'max_detections', 'top_k')
T = ParameterType


def default_model() -> str:
    """Return the demo fall-detection card: the installed share/ first, else the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory
        path = os.path.join(get_package_share_directory('edge_perception'), DEFAULT_CARD)
        if os.path.isfile(path):
            return path
    except (ImportError, LookupError, OSError, ValueError):
        pass
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, DEFAULT_CARD)


def descriptor(ptype: int, description: str, read_only: bool = False,
               float_range: Optional[Tuple[float, float]] = None,
               int_range: Optional[Tuple[int, int]] = None,
               constraints: str = '', dynamic_typing: bool = False) -> ParameterDescriptor:
    """Build a ParameterDescriptor (ranges are enforced by rclpy before the node sees a value)."""
    result = ParameterDescriptor(type=ptype, description=description, read_only=read_only,
                                 additional_constraints=constraints,
                                 dynamic_typing=dynamic_typing)
    if float_range is not None:
        result.floating_point_range = [FloatingPointRange(
            from_value=float(float_range[0]), to_value=float(float_range[1]), step=0.0)]
    if int_range is not None:
        result.integer_range = [IntegerRange(
            from_value=int(int_range[0]), to_value=int(int_range[1]), step=1)]
    return result


def resolve_classes(value, class_names: Sequence[str]) -> Tuple[int, ...]:
    """
    Turn class names or ids (strings or ints; a string may list them, comma-separated) into ids.

    Empty keeps every class. ValueError names the unknown entry and the model's classes.
    """
    if isinstance(value, str):
        value = value.split(',')
    ids = []
    for item in value or ():
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
        if isinstance(item, str) and item in class_names:
            ids.append(list(class_names).index(item))
            continue
        if isinstance(item, bool) or not (isinstance(item, int) or str(item).isdigit()):
            raise ValueError(f'classes: unknown class {item!r}; this model has '
                             f'{", ".join(class_names)} (names or ids 0..{len(class_names) - 1})')
        index = int(item)
        if not 0 <= index < len(class_names):
            raise ValueError(f'classes: class id {index} is out of range: this model has '
                             f'{len(class_names)} classes (ids 0..{len(class_names) - 1})')
        ids.append(index)
    return tuple(dict.fromkeys(ids))


def per_worker_core_masks(value, workers: int) -> Tuple[Optional[str], ...]:
    """
    Split the ``core_mask`` parameter into one entry per worker (None: backend default).

    'auto' or '' leaves the backend's default; one value applies to every worker; a
    comma-separated list gives each worker its own (RKNN: '0,1,2' = one NPU core each).
    The value may be typed as an integer (``-p core_mask:=0`` reaches the node as 0) or a list.
    """
    if not isinstance(value, (str, bytes)) and hasattr(value, '__iter__'):
        value = ','.join(str(v) for v in value)         # -p core_mask:=[0,1,2]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'core_mask must be auto, a mask (0, 1, 2, 0_1, 0_1_2) or one mask per '
                         f'worker separated by commas, got {value!r}')
    items = [v.strip() for v in str(value).split(',')]
    if items in ([''], ['auto']):
        return (None,) * workers
    if len(items) == 1:
        return tuple(items) * workers
    if len(items) != workers:
        raise ValueError(f'core_mask lists {len(items)} entries for {workers} workers: give '
                         'one per worker, or one for all')
    return tuple(items)


def check_array_type(name: str, value):
    """Return ``value`` as a list; ValueError when it is no array (or of the wrong items)."""
    if value is None:
        return []
    if isinstance(value, str) and name == 'classes':
        return value
    if isinstance(value, (str, bytes, bool, int, float)):
        raise ValueError(f'{name} must be an array, got {value!r}')
    items = list(value)
    if name == 'cpu_affinity' and not all(isinstance(v, int) and not isinstance(v, bool)
                                          for v in items):
        raise ValueError(f'cpu_affinity must be an integer array, got {items!r}')
    if name == 'classes' and not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                     for v in items):
        raise ValueError(f'classes must be class names or ids, got {items!r}')
    if name == 'image_topics' and not all(isinstance(v, str) and v.strip() for v in items):
        raise ValueError(f'image_topics must be topic names, got {items!r}')
    return items


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """Return ``value`` when it is one of ``choices``; ValueError names them otherwise."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {", ".join(choices)}, got {value!r}')
    return value


MODEL_PARAMETER = ('model', None, descriptor(
    T.PARAMETER_STRING, 'Model card (.yaml) or model file (.onnx, .rknn, .bin).',
    read_only=True))
BACKEND_PARAMETER = ('backend', 'auto', descriptor(
    T.PARAMETER_STRING, 'Inference runtime: auto (an NPU when present) or a name.',
    read_only=True, constraints='auto, onnxruntime, rknn, rdk'))


def control_parameters():
    """Return (name, default, descriptor) of the lifecycle and output-convention parameters."""
    return [
        ('autostart', True, descriptor(
            T.PARAMETER_BOOL, 'Configure and activate at start-up (false: wait for a lifecycle '
            'manager: ros2 lifecycle set <node> configure, then activate).', read_only=True)),
        ('class_id_format', 'index', descriptor(
            T.PARAMETER_STRING, 'ObjectHypothesis.class_id: index (the class id, looked up in '
            'label_info, as vision_msgs defines it) or name (the class name).', read_only=True,
            constraints='index or name')),
        ('image_topics', [], descriptor(
            T.PARAMETER_STRING_ARRAY, 'Several cameras into one model instance: one subscription '
            'per topic; outputs under <camera>/ (the topic without its last part, e.g. '
            '/front/image_raw -> /front/detections). Empty: the single topic image.',
            read_only=True, dynamic_typing=True)),
    ]


def detection_parameters(options):
    """
    Return (name, default, descriptor) of the decoding parameters of box-producing models.

    ``options``: the model card's decoding defaults (DecodeOptions), so a card's thresholds
    apply unless the parameters are set.
    """
    return [
        ('confidence_threshold', options.confidence_threshold, descriptor(
            T.PARAMETER_DOUBLE, 'Minimum class probability of a detection.',
            float_range=(0.0, 1.0))),
        ('nms_threshold', options.nms_threshold, descriptor(
            T.PARAMETER_DOUBLE, 'IoU above which non-maximum suppression drops a box.',
            float_range=(0.0, 1.0))),
        ('max_detections', options.max_detections, descriptor(
            T.PARAMETER_INTEGER, 'Most detections published per image.',
            int_range=(1, 10000))),
        # dynamic_typing: rclpy types an empty list default as BYTE_ARRAY (rclpy issue 912), so
        # a fixed type would refuse every later value; the node checks the type itself.
        ('classes', [], descriptor(
            T.PARAMETER_STRING_ARRAY, 'Class names (or ids) to keep; empty keeps all.',
            constraints="names or ids of the model's classes", dynamic_typing=True)),
    ]


def runtime_parameters(debug_topic: str):
    """Return (name, default, descriptor) of the input, runtime and worker parameters."""
    return [
        ('image_transport', 'raw', descriptor(
            T.PARAMETER_STRING, 'raw: subscribe image (sensor_msgs/Image); compressed: '
            '<image>/compressed (sensor_msgs/CompressedImage), <image> the remapped image '
            'topic.', read_only=True,
            constraints='raw or compressed')),
        ('image_qos', 'sensor_data', descriptor(
            T.PARAMETER_STRING, 'Image subscription QoS: sensor_data (best effort, as most '
            'cameras publish) or reliable. qos_overrides./<topic>.subscription.<policy> '
            'parameters override single policies.', read_only=True,
            constraints='sensor_data or reliable')),
        ('publish_debug_image', False, descriptor(
            T.PARAMETER_BOOL, f'Also publish {debug_topic}, the image with the results drawn.')),
        ('threads', 0, descriptor(
            T.PARAMETER_INTEGER, 'Inference runtime threads per worker (0: the runtime '
            'default).', read_only=True, int_range=(0, 1024))),
        ('workers', 1, descriptor(
            T.PARAMETER_INTEGER, 'Inference workers, each with its own model context (one per '
            'NPU core on RKNN boards); results stay in frame order.', read_only=True,
            int_range=(1, 16))),
        ('soc', '', descriptor(
            T.PARAMETER_STRING, 'SoC name filling {soc} in model card file names (rk3588, x5, '
            '...); empty: read from the device tree.', read_only=True)),
        ('core_mask', 'auto', descriptor(
            T.PARAMETER_STRING, 'NPU core(s): RKNN masks auto, 0, 1, 2, 0_1, 0_1_2; RDK BPU '
            'core ids. Comma-separated: one per worker.', read_only=True,
            constraints='auto, a mask, or one mask per worker separated by commas',
            # `-p core_mask:=0` arrives as an INTEGER: accept it as typed (the node checks it)
            dynamic_typing=True)),
        ('cpu_affinity', [], descriptor(
            T.PARAMETER_INTEGER_ARRAY, 'CPU ids to pin inference to; empty: no pinning.',
            read_only=True, dynamic_typing=True)),
    ]


def pool_parameters():
    """Return (name, default, descriptor) of the worker pool's latency and fault bounds."""
    return [
        ('max_latency_ms', 1000, descriptor(
            T.PARAMETER_INTEGER, 'A frame in flight longer than this (ms) stops holding back '
            'later results; its own result, if it comes, is dropped as late. 0: no bound.',
            read_only=True, int_range=(0, 3_600_000))),
        ('inference_timeout_ms', 10000, descriptor(
            T.PARAMETER_INTEGER, 'An inference still running after this (ms) marks its context '
            'bad (ERROR in /diagnostics) and the worker gets a fresh context. 0: never.',
            read_only=True, int_range=(0, 3_600_000))),
    ]


#: Tracking parameters -> TrackerSettings fields (edge_perception.tracking).
TRACKER_SETTINGS = {'track_threshold': 'track_threshold',
                    'track_low_threshold': 'low_threshold',
                    'new_track_threshold': 'new_track_threshold',
                    'track_match_iou': 'match_iou',
                    'lost_track_frames': 'lost_track_frames'}


def tracking_parameters():
    """Return (name, default, descriptor) of the tracker (detect, segment, pose)."""
    from ..tracking import TRACKERS, TrackerSettings
    defaults = TrackerSettings()
    return [
        ('tracker', 'bytetrack', descriptor(
            T.PARAMETER_STRING, 'Multi-object tracker: bytetrack (Detection2D.id = track id, '
            'only objects on confirmed tracks are published: a new object from its second '
            'frame) or none (id = index in the message).', read_only=True,
            constraints=' or '.join(TRACKERS))),
        ('track_threshold', defaults.track_threshold, descriptor(
            T.PARAMETER_DOUBLE, 'Score from which a detection is matched to tracks first; '
            'lower ones (down to track_low_threshold) only continue tracks.',
            float_range=(0.0, 1.0))),
        ('track_low_threshold', defaults.low_threshold, descriptor(
            T.PARAMETER_DOUBLE, 'Score from which a detection may continue a track (ByteTrack '
            'second stage); at most track_threshold.', float_range=(0.0, 1.0))),
        ('new_track_threshold', defaults.new_track_threshold, descriptor(
            T.PARAMETER_DOUBLE, 'Score from which an unmatched detection starts a new track; '
            'at least track_threshold.', float_range=(0.0, 1.0))),
        ('track_match_iou', defaults.match_iou, descriptor(
            T.PARAMETER_DOUBLE, "Least IoU of a track's predicted box and a detection to match "
            'them (> 0).', float_range=(0.0, 1.0))),
        ('lost_track_frames', defaults.lost_track_frames, descriptor(
            T.PARAMETER_INTEGER, 'Frames a lost track is kept (counted by frames received, so '
            'dropped frames count) and can come back with its id.', int_range=(0, 100000))),
    ]


def tracker_settings(values):
    """Return the TrackerSettings of parameter values ({name: value}); ValueError: the reasons."""
    from ..tracking import TrackerSettings
    try:
        return TrackerSettings(**{field: values[name] for name, field in TRACKER_SETTINGS.items()})
    except ValueError as exc:       # the reasons, in the parameters' names
        text = str(exc)
        for name, field in TRACKER_SETTINGS.items():
            text = re.sub(rf'\b{field}\b', name, text)
        raise ValueError(text) from None


def depth_parameters():
    """Return (name, default, descriptor) of 3D from depth (detect, segment, pose)."""
    return [
        ('use_depth', False, descriptor(
            T.PARAMETER_BOOL, 'Subscribe depth (sensor_msgs/Image, 16UC1 mm or 32FC1 m, '
            'registered to the colour image or not), depth/camera_info and camera_info (next '
            'to image), and /tf_static for unregistered depth; '
            'publish detections_3d (vision_msgs/Detection3DArray) and markers in metres.',
            read_only=True)),
        ('depth_slop', 0.05, descriptor(
            T.PARAMETER_DOUBLE, 'Largest stamp difference (s) of a colour frame and its depth '
            'image.', read_only=True, float_range=(0.0, 10.0))),
        ('depth_max_wait', 0.1, descriptor(
            T.PARAMETER_DOUBLE, 'Longest wait (s) of a colour frame for its depth image; then '
            'it stays 2D only (counted depth_unmatched). 2D outputs never wait.',
            read_only=True, float_range=(0.0, 10.0))),
        ('assume_registered', False, descriptor(
            T.PARAMETER_BOOL, 'Take depth with another frame_id than the colour image as '
            'registered to it (drivers naming one optical frame twice).', read_only=True)),
        # dynamic_typing: an empty list default is typed BYTE_ARRAY by rclpy (see classes)
        ('depth_to_colour', [], descriptor(
            T.PARAMETER_DOUBLE_ARRAY, 'Pose of the depth optical frame in the colour optical '
            'frame [x, y, z, qx, qy, qz, qw] (m; p_colour = R p_depth + t) for depth not '
            'registered to the colour image; empty: from /tf_static.', read_only=True,
            constraints='empty or 7 numbers', dynamic_typing=True)),
        ('marker_distance', 2.0, descriptor(
            T.PARAMETER_DOUBLE, 'Without depth, markers are drawn on the camera rays at this '
            'distance (m), from camera_info.', read_only=True, float_range=(0.01, 1000.0))),
    ]
