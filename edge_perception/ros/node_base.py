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
What every perception node shares: parameters, image input, the worker pool, diagnostics.

``PerceptionNode`` is the base of the detector, segmenter, pose and classifier nodes. It
declares the parameters (with descriptors: ranges, read-only), loads one model context per
worker, checks the model's task, subscribes to the image (or, inside ``perception_container``,
takes frames from a shared subscription), runs conversion and inference on the worker pool,
counts malformed frames, drops and errors, publishes ``label_info``, ``/diagnostics``, the
optional debug image and, when the ``ai_msgs`` package is importable, TROS
``ai_msgs/PerceptionTargets`` on ``perception_targets``. A subclass only creates its
publishers and turns one frame's result into messages (``_publish``, ``_draw``, ``_targets``).
"""

import collections
import dataclasses
import os
import statistics
import threading
import time
from typing import Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                ParameterType, SetParametersResult)
import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind,
                       qos_profile_sensor_data, QoSProfile, ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image

from . import tros
from .frames import SharedFrame
from .image_conversions import bgr_to_image
from .messages import (diagnostic_array, diagnostic_status, LABEL_INFO_MISSING, label_info_msg,
                       LabelInfo)
from ..affinity import validate_cpus
from ..errors import ConfigError, EdgePerceptionError, ImageFormatError
from ..model import backend_for, card_options, load_model
from ..pool import WorkerPool
from ..preprocess import Nv12Frame

try:  # Iron and newer
    from rclpy.event_handler import SubscriptionEventCallbacks
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks

DEFAULT_CARD = os.path.join('config', 'models', 'fall_detection.yaml')
TRANSPORTS = ('raw', 'compressed')
IMAGE_QOS = ('sensor_data', 'reliable')
STAGES = ('convert', 'pre', 'infer', 'decode', 'publish')
LATENCY_WINDOW = 100            # frames the latency medians are taken over
DIAGNOSTICS_PERIOD = 1.0        # seconds
LOG_THROTTLE = 5.0              # seconds between repeated error lines
#: Bad-frame reasons /diagnostics always lists (bad_<reason>): the pool's and the node's.
BAD_REASONS = ('malformed', 'error', 'timeout', 'publish')
#: The executable that serves each model task (start-up errors name the right one).
TASK_NODES = {'detect': 'detector_node', 'segment': 'segmenter_node',
              'semantic': 'segmenter_node', 'pose': 'pose_node', 'classify': 'classifier_node'}
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


_NO_LABEL_INFO_LOGGED = threading.Event()


def _warn_once_no_label_info(logger):
    """Log LABEL_INFO_MISSING once per process (a container's nodes all lack it alike)."""
    if not _NO_LABEL_INFO_LOGGED.is_set():
        _NO_LABEL_INFO_LOGGED.set()
        logger.warning(LABEL_INFO_MISSING)


def image_qos(name: str) -> QoSProfile:
    """Return the subscription QoS for an ``image_qos`` parameter value."""
    return qos_profile_sensor_data if name == 'sensor_data' else RELIABLE_IMAGE_QOS


class StartupError(EdgePerceptionError):
    """The node cannot start; the message says why (already logged by the node)."""


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


MODEL_DESCRIPTOR = descriptor(
    ParameterType.PARAMETER_STRING, 'Model card (.yaml) or model file (.onnx, .rknn, .bin).',
    read_only=True)
T = ParameterType


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
            'cameras publish) or reliable.', read_only=True,
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


BACKEND_PARAMETER = ('backend', 'auto', descriptor(
    T.PARAMETER_STRING, 'Inference runtime: auto (an NPU when present) or a name.',
    read_only=True, constraints='auto, onnxruntime, rknn, rdk'))
#: Parameters passed to load_model as decoding options when a node declares them.
LOAD_OPTIONS = ('confidence_threshold', 'nms_threshold', 'max_detections', 'top_k')


class _Stats:
    """Frame counters and recent per-stage latencies, shared by the workers and the timer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.frames_in = 0
        self.frames_out = 0
        self.frames_bad = 0
        self.errors = 0
        self.last_error = ''
        self.last_timeout = ''
        self.latency = {stage: collections.deque(maxlen=LATENCY_WINDOW) for stage in STAGES}
        self.done = collections.deque(maxlen=LATENCY_WINDOW)     # monotonic times of outputs

    def record(self, **seconds):
        with self.lock:
            self.frames_out += 1
            self.done.append(time.monotonic())
            for stage, value in seconds.items():
                self.latency[stage].append(value)

    def medians_ms(self):
        with self.lock:
            return {stage: statistics.median(v) * 1e3 if v else None
                    for stage, v in self.latency.items()}

    def recent_fps(self) -> float:
        with self.lock:
            if len(self.done) < 2:
                return 0.0
            span = self.done[-1] - self.done[0]
            return (len(self.done) - 1) / span if span > 0 else 0.0


@dataclasses.dataclass
class FrameResult:
    """What a worker hands to the in-order publisher for one frame."""

    image: object               # BGR array or Nv12Frame the model saw
    output: object              # Detections, SemanticMap or Classifications
    times: object               # StageTimes
    convert: float              # seconds
    started: object             # rclpy Time when the worker took the frame


class PerceptionNode(Node):
    """
    Base class of the task nodes; see the module docstring.

    Subclasses set NODE_NAME, TASKS (model tasks served), PURPOSE (diagnostics), DEBUG_TOPIC,
    and implement ``_create_outputs``, ``_publish``, ``_draw`` and ``_targets``.
    ``frame_source``: a ``FrameHub`` of perception_container; the node then takes its frames
    from the hub's shared subscription instead of subscribing itself. ``model_factory``
    (benchmarks only, never a default): ``model_factory(index)`` returns worker ``index``'s
    model instead of ``load_model`` (e.g. the NPU stand-in, a SIMULATION; bench_pipeline).
    """

    NODE_NAME = 'perception'
    TASKS: Tuple[str, ...] = ('detect',)
    PURPOSE = 'perception'
    DEBUG_TOPIC = 'detections/image'
    DEBUG_TOPIC_TEXT = ''           # how the publish_debug_image description names it

    def __init__(self, node_name: Optional[str] = None, *, frame_source=None,
                 model_factory=None, **node_kwargs):
        super().__init__(node_name or self.NODE_NAME, **node_kwargs)
        self._stats = _Stats()
        self._frame_source = frame_source
        self._model_factory = model_factory
        self._worker = None
        self._model = None
        self._models = []
        self._debug_pub = None
        self._debug_enabled = False
        self._targets_pub = None
        self._settings = {}
        self._closed = False
        self._warned = set()
        self._models_lock = threading.Lock()
        try:
            self._start()
        except (EdgePerceptionError, ValueError, ParameterException) as exc:
            self.get_logger().error(str(exc))
            self.close()
            self.destroy_node()
            raise StartupError(str(exc)) from None

    # -- what a task node provides ----------------------------------------------------------
    def _decode_parameters(self, options):
        """Return the decoding parameters (default: those of detection models)."""
        return detection_parameters(options)

    def _task_parameters(self):
        """Return extra (name, default, descriptor); their values live in ``self._settings``."""
        return []

    def _create_outputs(self):
        """Create the task's publishers."""
        raise NotImplementedError

    def _publish(self, header, result: FrameResult):
        """Publish one frame's results (in frame order)."""
        raise NotImplementedError

    def _draw(self, bgr, output):
        """Return the debug image of one frame's results."""
        raise NotImplementedError

    def _targets(self, output, width: int, height: int):
        """Return the frame's results as ai_msgs/Target messages (TROS)."""
        raise NotImplementedError

    # -- start-up -------------------------------------------------------------------------
    def _param(self, name):
        value = self.get_parameter(name).value
        return [] if value is None else value

    def _start(self):
        self.declare_parameter('model', default_model(), MODEL_DESCRIPTOR)
        model = self._param('model')
        decode = self._decode_parameters(card_options(model))
        task_params = self._task_parameters()
        for name, default, desc in ([BACKEND_PARAMETER] + decode
                                    + runtime_parameters(self.DEBUG_TOPIC_TEXT or self.DEBUG_TOPIC)
                                    + pool_parameters() + task_params):
            self.declare_parameter(name, default, desc)
        self._decode_names = {name for name, _, _ in decode}
        self._settings = {name: self._param(name) for name, _, _ in task_params}
        transport = self._param('image_transport')
        if transport not in TRANSPORTS:
            raise ValueError(f'image_transport must be one of {", ".join(TRANSPORTS)}, '
                             f'got {transport!r}')
        self._image_qos = self._param('image_qos')
        if self._image_qos not in IMAGE_QOS:
            raise ValueError(f'image_qos must be one of {", ".join(IMAGE_QOS)}, '
                             f'got {self._image_qos!r}')
        if 'classes' in self._decode_names:
            self._check_array_type('classes', self._param('classes'))
        cpus = self._check_array_type('cpu_affinity', self._param('cpu_affinity'))
        cpus = tuple(sorted(validate_cpus(cpus))) if len(cpus) else None

        workers = self._param('workers')
        masks = per_worker_core_masks(self._param('core_mask'), workers)
        backend = backend_for(model, self._param('backend'))
        option_name = {'rknn': 'core_mask', 'rdk': 'bpu_core'}.get(backend)
        if option_name is None and any(masks):
            raise ValueError(f'core_mask applies to NPU backends; {backend} has none')
        options = {name: self._param(name) for name in LOAD_OPTIONS if name in self._decode_names}

        def load(mask):
            return load_model(
                model, backend=backend, threads=self._param('threads'), cpu_affinity=cpus,
                backend_options={option_name: mask} if mask else None,
                soc=self._param('soc') or None, **options)
        self._reload = lambda index: load(masks[index])     # a hung context's replacement
        if self._model_factory is not None:     # benchmarks: e.g. the NPU stand-in
            self._reload = self._model_factory
        self._models = []
        for index in range(len(masks)):
            self._models.append(self._reload(index))
            if len(self._models) == 1:
                self._check_task(self._models[0], model)
        self._model = self._models[0]
        for loaded in self._models:     # a classifier's first-frame check logs its finding
            if getattr(loaded.decoder, 'scores', None) is not None:
                loaded.decoder.scores.warn = self._warn_once
        if 'classes' in self._decode_names:
            classes = resolve_classes(self._param('classes'), self._model.class_names)
            self._set_options(dataclasses.replace(self._model.options, classes=classes))

        self._label_pub = None
        if LabelInfo is not None:
            self._label_pub = self.create_publisher(LabelInfo, 'label_info', LATCHED_QOS)
        else:
            _warn_once_no_label_info(self.get_logger())
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._create_outputs()
        if tros.available():
            self._targets_pub = self.create_publisher(
                tros.PerceptionTargets, 'perception_targets', 10)
        if self._param('publish_debug_image'):
            self._enable_debug_image()

        self._compressed = transport == 'compressed'
        # NV12 models (RDK BPU) take nv12 camera frames as they are: no conversion, no copy.
        self._keep_nv12 = self._model.input_spec.color == 'nv12'
        self._worker = WorkerPool(workers, self._work, self._emit,
                                  name=f'{self.NODE_NAME}-inference', cpu_affinity=cpus,
                                  on_error=self._on_worker_error, contexts=list(self._models),
                                  reopen=self._reopen_context, close=lambda m: m.close(),
                                  classify=self._bad_reason,
                                  max_latency_ms=self._param('max_latency_ms'),
                                  inference_timeout_ms=self._param('inference_timeout_ms'),
                                  on_timeout=self._on_inference_timeout)
        topic = 'image'
        if self._compressed:
            # the transport's topic follows the resolved, remapped base topic, as image_pipeline
            # nodes subscribe: -r image:=/cam/image_raw gives /cam/image_raw/compressed
            topic = self.resolve_topic_name('image') + '/compressed'
        if self._frame_source is None:
            self._sub = self.create_subscription(
                CompressedImage if self._compressed else Image, topic, self._on_image,
                image_qos(self._image_qos),
                event_callbacks=SubscriptionEventCallbacks(
                    incompatible_qos=self.on_incompatible_qos))
            self._topic = self._sub.topic_name
        else:
            self._sub = None
            self._topic = self.resolve_topic_name(topic)
            self._frame_source.attach(self, self._topic, self._compressed, self._image_qos)
        self._publish_label_info()
        self._last_diag = (time.monotonic(), 0, 0, 0)
        self._diag_timer = self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        for finding in getattr(self._model.backend, 'findings', ()):
            self.get_logger().warning(str(finding))
        self.get_logger().info(
            f'{self._model.describe()}; {workers} worker(s); classes '
            f'{", ".join(self._model.class_names)}; listening on {self._topic} '
            f'({self._image_qos}{", shared" if self._frame_source is not None else ""})')

    def _check_task(self, model, reference):
        task = getattr(model, 'task', None) or getattr(model.spec, 'task', 'detect')
        if task not in self.TASKS:
            other = TASK_NODES.get(task)
            hint = f'run {other} for it' if other else 'no node runs that task'
            raise ConfigError(
                f'{reference} is a {task!r} model, but the {self.NODE_NAME} node runs '
                f'{" or ".join(repr(t) for t in self.TASKS)} models: {hint}')
        self._task = task

    def _warn_once(self, text: str):
        """Log a model's warning once per node (every worker's model may find the same)."""
        with self._stats.lock:
            if text in self._warned:
                return
            self._warned.add(text)
        self.get_logger().warning(text)

    @staticmethod
    def _check_array_type(name, value):
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
        return items

    def _enable_debug_image(self):
        if self._debug_pub is None:
            self._debug_pub = self.create_publisher(Image, self.DEBUG_TOPIC, DEBUG_QOS)
        self._debug_enabled = True

    def _label_threshold(self) -> float:
        return float(getattr(self._model.options, 'confidence_threshold', 0.0))

    def _publish_label_info(self):
        if self._label_pub is None:     # vision_msgs < 4.1.0 (said once at start-up)
            return
        msg = label_info_msg(self._model.class_names, self._label_threshold())
        msg.header.stamp = self.get_clock().now().to_msg()
        self._label_pub.publish(msg)

    # -- per frame ------------------------------------------------------------------------
    def _on_image(self, msg):
        self.accept_frame(SharedFrame(msg, self._compressed))

    def accept_frame(self, frame: SharedFrame):
        """Take one frame (from the own subscription or a container's shared one)."""
        with self._stats.lock:
            self._stats.frames_in += 1
        self._worker.submit(frame)      # conversion and inference happen on a worker thread

    def _set_options(self, options):
        with self._models_lock:
            for model in self._models:
                model.options = options

    def _work(self, model, frame):
        """Convert (once per process) and infer with ``model`` (the worker's own context)."""
        started = self.get_clock().now()
        t0 = time.perf_counter()
        image = frame.image(self._keep_nv12)
        convert = time.perf_counter() - t0
        output, times = model.predict(image)
        return FrameResult(image, output, times, convert, started)

    def _reopen_context(self, index, old):
        """Load a fresh context for worker ``index`` after ``old`` hung (the pool calls it)."""
        new = self._reload(index)
        if getattr(new.decoder, 'scores', None) is not None:    # as at start-up
            new.decoder.scores.warn = self._warn_once
        with self._models_lock:
            new.options = self._models[index].options
            self._models[index] = new
            if index == 0:
                self._model = new
        self.get_logger().warning(f'worker {index}: a fresh model context replaces the hung one')
        return new

    @staticmethod
    def _bad_reason(exc) -> str:
        return 'malformed' if isinstance(exc, ImageFormatError) else 'error'

    def _on_inference_timeout(self, index, seconds):
        text = (f'worker {index}: inference did not return within '
                f'{self._param("inference_timeout_ms")} ms ({seconds:.1f} s so far): its context '
                'is marked bad and a fresh one is loaded')
        with self._stats.lock:
            self._stats.last_timeout = text
        self.get_logger().error(text)

    def _emit(self, frame, result: FrameResult):
        """Publish one frame's results (called in frame order)."""
        header = frame.header
        t0 = time.perf_counter()
        self._publish(header, result)
        publish = time.perf_counter() - t0
        if self._debug_pub is not None and self._debug_enabled:
            image = result.image
            bgr = image.to_bgr() if isinstance(image, Nv12Frame) else image
            self._debug_pub.publish(bgr_to_image(self._draw(bgr, result.output), header))
        self._stats.record(convert=result.convert, pre=result.times.pre,
                           infer=result.times.infer, decode=result.times.decode,
                           publish=publish)
        if self._targets_pub is not None:
            self._targets_pub.publish(self._perception_targets(header, result))

    def _perception_targets(self, header, result: FrameResult):
        image = result.image
        if isinstance(image, Nv12Frame):
            width, height = image.width, image.height
        else:
            height, width = image.shape[:2]
        name = self.get_name()
        stages = [('convert', result.convert), ('preprocess', result.times.pre),
                  ('infer', result.times.infer), ('postprocess', result.times.decode)]
        perfs, start = [], result.started.nanoseconds
        for stage, seconds in stages:
            end = start + int(seconds * 1e9)
            perfs.append(tros.perf(f'{name}_{stage}', start, end))
            start = end
        stamp = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
        perfs.append(tros.perf(f'{name}_pipeline', stamp, self.get_clock().now().nanoseconds))
        return tros.perception_targets(header, self._targets(result.output, width, height),
                                       perfs, self._stats.recent_fps())

    def _on_worker_error(self, exc):
        if isinstance(exc, ImageFormatError):
            with self._stats.lock:
                self._stats.frames_bad += 1
            self.get_logger().error(f'skipping a malformed frame on {self._topic}: {exc}',
                                    throttle_duration_sec=LOG_THROTTLE)
            return
        with self._stats.lock:
            self._stats.errors += 1
            self._stats.last_error = f'{type(exc).__name__}: {exc}'
        self.get_logger().error(f'inference failed on a frame from {self._topic}: '
                                f'{type(exc).__name__}: {exc}', throttle_duration_sec=LOG_THROTTLE)

    def on_incompatible_qos(self, event):
        """Log why a camera's images cannot arrive, with the fix."""
        policy = qos_policy_name_from_kind(event.last_policy_kind)
        if self._image_qos != 'sensor_data':
            hint = ('most cameras publish best effort: start this node with '
                    'image_qos:=sensor_data')
        else:
            hint = "compare the publisher's QoS with this subscription's (best effort, volatile)"
        self.get_logger().warning(
            f'a publisher on {self._topic} offers a QoS incompatible with this subscription '
            f'(image_qos:={self._image_qos}; incompatible policy: {policy}): its images will not '
            f'arrive. Hint: {hint}')

    # -- parameters -----------------------------------------------------------------------
    def _on_set_parameters(self, params):
        options = self._model.options
        updates, debug, settings = {}, None, {}
        try:
            for param in params:
                if param.name not in self._decode_names and param.name in self._settings:
                    settings[param.name] = param.value
                elif param.name in ('confidence_threshold', 'nms_threshold'):
                    value = float(param.value)
                    if not 0.0 <= value <= 1.0:
                        raise ValueError(f'{param.name} must be within [0, 1], got {value}')
                    updates[param.name] = value
                elif param.name in ('max_detections', 'top_k'):
                    updates[param.name] = int(param.value)
                elif param.name == 'classes':
                    value = [] if param.value is None else param.value
                    updates['classes'] = resolve_classes(
                        self._check_array_type('classes', value), self._model.class_names)
                elif param.name == 'publish_debug_image':
                    debug = bool(param.value)
            new_options = dataclasses.replace(options, **updates)
        except (TypeError, ValueError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self._set_options(new_options)
        self._settings.update(settings)
        if debug is True:
            self._enable_debug_image()
        elif debug is False:
            self._debug_enabled = False
        if getattr(new_options, 'confidence_threshold', None) != \
                getattr(options, 'confidence_threshold', None):
            self._publish_label_info()
        return SetParametersResult(successful=True)

    # -- diagnostics ----------------------------------------------------------------------
    def counters(self) -> dict:
        """Frame counters so far: in, out, dropped, bad, errors."""
        with self._stats.lock:
            out = {'frames_in': self._stats.frames_in, 'frames_out': self._stats.frames_out,
                   'frames_bad': self._stats.frames_bad, 'errors': self._stats.errors}
        pool = self._worker.counts() if self._worker else None
        out['frames_dropped'] = sum(pool['dropped'].values()) if pool else 0
        if pool:        # every frame in ends once: published, dropped or bad (by reason)
            out['frames_published'] = pool['published']
            out.update({f'dropped_{reason}': n for reason, n in pool['dropped'].items()})
            for reason in sorted(set(BAD_REASONS) | set(pool['bad'])):
                out[f'bad_{reason}'] = pool['bad'].get(reason, 0)
            out['context_timeouts'] = pool['timeouts']
            out['contexts_recreated'] = pool['recreated']
            out['contexts_hung'] = pool['hung']
        return out

    def _publish_diagnostics(self):
        now = time.monotonic()
        counts = self.counters()
        last_t, last_out, last_bad, last_errors = self._last_diag
        self._last_diag = (now, counts['frames_out'], counts['frames_bad'], counts['errors'])
        fps = (counts['frames_out'] - last_out) / max(now - last_t, 1e-6)
        bad, errors = counts['frames_bad'] - last_bad, counts['errors'] - last_errors
        timeouts = counts.get('context_timeouts', 0) - getattr(self, '_diag_timeouts', 0)
        self._diag_timeouts = counts.get('context_timeouts', 0)
        if timeouts or counts.get('contexts_hung'):
            level, message = 'ERROR', (f'{self._stats.last_timeout}; '
                                       f'{counts["contexts_hung"]} context(s) still hung')
        elif errors:
            level, message = 'ERROR', f'inference failed: {self._stats.last_error}'
        elif bad:
            level, message = 'WARN', f'{bad} malformed frame(s) skipped on {self._topic}'
        elif counts['frames_in'] == 0:
            level, message = 'WARN', f'no images received yet on {self._topic}'
        else:
            level, message = 'OK', f'{fps:.1f} fps'
        values = dict(counts)
        values['fps'] = fps
        for stage, ms in self._stats.medians_ms().items():
            values[f'latency_{stage}_ms'] = 'n/a' if ms is None else ms
        values['latency_window'] = LATENCY_WINDOW
        values['topic'] = self._topic
        values['workers'] = self._worker.workers
        values['model'] = self._model.describe()
        status = diagnostic_status(f'{self.get_fully_qualified_name()}: {self.PURPOSE}',
                                   level, message, values, self._model.backend.name)
        self._diag_pub.publish(diagnostic_array([status], self.get_clock().now().to_msg()))

    # -- shutdown -------------------------------------------------------------------------
    def close(self):
        """Stop the inference workers (the frames in progress finish) and free the models."""
        if self._closed:
            return
        self._closed = True
        if self._frame_source is not None:
            self._frame_source.detach(self)
        if getattr(self, '_diag_timer', None) is not None:
            self._diag_timer.cancel()       # it reads the models, which are freed below
        if self._worker is not None:
            # the pool frees each context after its call returned, never during one; with the
            # ROS context gone the finished results cannot be published any more
            if not self._worker.stop(publish_ready=self.context.ok()):
                self.get_logger().warning('an inference was still running at shutdown: its '
                                          'context is freed when it returns')
        else:
            for model in self._models:
                model.close()


def run(node_class, args=None) -> int:
    """Run one node until Ctrl-C or shutdown; 1 when it cannot start (the reason is logged)."""
    rclpy.init(args=args)
    node = None
    try:
        node = node_class()
        rclpy.spin(node)
    except StartupError:
        return 1                        # the node logged the reason as one error line
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def main_for(node_class):
    """Return a console-script ``main`` for ``node_class``."""
    def main(args=None) -> int:
        return run(node_class, args)
    main.__doc__ = f'Run the {node_class.NODE_NAME} node; exit status 1 when it cannot start.'
    return main
