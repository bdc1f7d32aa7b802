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
The lifecycle base of every perception node: image input, the worker pool, the transitions.

``PerceptionNode`` is a managed node (``rclpy.lifecycle``). Its transitions:

* constructor: declares every parameter (``parameters``) and the ``~/enable`` service;
  with ``autostart`` (true) it configures and activates itself, so ``ros2 run`` is one
  command, and raises ``StartupError`` when either fails;
* configure: loads one model context per worker, checks the model's task, creates the
  publishers (the task's ``Outputs`` per camera, ``label_info``, ``/diagnostics``, the debug
  image, TROS ``perception_targets``) and configures the result stages;
* activate: (re)loads the contexts if a deactivate released them, starts the worker pool,
  subscribes to the image topic(s) (or attaches to a container's shared subscription) and
  publishes ``label_info``;
* deactivate: unsubscribes, stops the pool (the frames in progress finish) and releases the
  contexts (the NPU is free for another process);
* cleanup: destroys the publishers; shutdown: releases everything.

``~/enable`` (std_srvs/SetBool) pauses and resumes inference without a transition: frames
received while paused are counted (``frames_paused``) and not inferred. A task node gives its
``Outputs`` class (``outputs_class``); ``stages`` run on the publisher thread, in frame order.
"""

import dataclasses
import threading
import time
from typing import Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray, KeyValue
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import SetBool

from . import tros
from .depth_stage import DepthStage
from .diagnostics import counters, Diagnostics, DIAGNOSTICS_PERIOD, NodeStats
from .frames import SharedFrame
from .image_conversions import bgr_to_image
from .messages import diagnostic_array, LABEL_INFO_MISSING, label_info_msg, LabelInfo
from .outputs import join
from .parameters import (BACKEND_PARAMETER, check_array_type, check_choice, CLASS_ID_FORMATS,
                         control_parameters, default_model, depth_parameters, descriptor,
                         detection_parameters, IMAGE_QOS, LOAD_OPTIONS, MODEL_PARAMETER,
                         per_worker_core_masks, pool_parameters, resolve_classes,
                         runtime_parameters, T, TRACKER_SETTINGS, tracker_settings,
                         tracking_parameters, TRANSPORTS)
from .qos import (DEBUG_QOS, image_qos, image_qos_overrides, incompatible_qos_hint, LATCHED_QOS,
                  SubscriptionEventCallbacks)
from .stages import FrameResult, ResultStage
from .tasks import TASK_NODES, tasks_of
from .tracking_stage import TrackingStage
from ..affinity import validate_cpus
from ..errors import ConfigError, EdgePerceptionError, ImageFormatError
from ..model import backend_for, card_options, load_model
from ..pool import WorkerPool
from ..preprocess import Nv12Frame
from ..tracking import TRACKERS

__all__ = ['default_model', 'descriptor', 'FrameResult', 'main_for', 'PerceptionNode',
           'per_worker_core_masks', 'resolve_classes', 'ResultStage', 'run', 'StartupError', 'T']

LOG_THROTTLE = 5.0              # seconds between repeated error lines
SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE
#: Errors of configuration and loading: logged as one line, the transition fails.
START_ERRORS = (EdgePerceptionError, ValueError, ParameterException)

_NO_LABEL_INFO_LOGGED = threading.Event()


def _warn_once_no_label_info(logger):
    """Log LABEL_INFO_MISSING once per process (a container's nodes all lack it alike)."""
    if not _NO_LABEL_INFO_LOGGED.is_set():
        _NO_LABEL_INFO_LOGGED.set()
        logger.warning(LABEL_INFO_MISSING)


def _reason(exc: BaseException) -> str:
    """Return the one line a failed transition logs: our errors as they are, others typed."""
    return str(exc) if isinstance(exc, START_ERRORS) else f'{type(exc).__name__}: {exc}'


class StartupError(EdgePerceptionError):
    """The node cannot start; the message says why (already logged by the node)."""


def camera_prefix(topic: str) -> str:
    """Return the output prefix of a camera topic: the topic without its last part."""
    parts = topic.rstrip('/').rsplit('/', 1)
    prefix = parts[0] if len(parts) == 2 else topic
    return prefix or '/'


class _Camera:
    """One image input of the node and the publishers of its results."""

    def __init__(self, index: int, topic: str, prefix: str):
        self.index = index
        self.topic = topic              # as given ('image' when there is one camera)
        self.prefix = prefix            # '' for the single camera: outputs at the node's names
        self.resolved = ''
        self.subscription = None
        self.outputs = None
        self.debug_pub = None
        self.targets_pub = None
        self.published = 0              # frames given to the stages since activation
        self.received = 0               # frames received since activation (stage frame_index)


class PerceptionNode(LifecycleNode):
    """
    Base class of the task nodes; see the module docstring.

    Subclasses set NODE_NAME, EXECUTABLE (their TASKS come from ``tasks.TASK_NODES``), PURPOSE
    (diagnostics), DEBUG_TOPIC and OUTPUTS (an ``outputs.Outputs`` class; ``outputs_class``
    may choose by model task), and may add parameters (``_task_parameters``,
    ``_decode_parameters``). ``frame_source``: a ``FrameHub`` of perception_container; the
    node then takes its frames from the hub's shared subscriptions. ``model_factory``
    (benchmarks only, never a default): ``model_factory(index)`` returns worker ``index``'s
    model instead of ``load_model`` (e.g. the NPU stand-in, a SIMULATION; bench_pipeline).
    ``stages``: ResultStage objects run per frame, in order, before publishing.
    """

    NODE_NAME = 'perception'
    EXECUTABLE = ''
    TASKS: Tuple[str, ...] = ('detect',)
    PURPOSE = 'perception'
    DEBUG_TOPIC = 'detections/image'
    DEBUG_TOPIC_TEXT = ''           # how the publish_debug_image description names it
    OUTPUTS = None
    TRACKING = False                # declares tracker (+ settings): tracking_stage.TrackingStage
    DEPTH = False                   # declares use_depth (+ settings): depth_stage.DepthStage
    MARKERS = False                 # metric markers even without use_depth (pose)
    SKELETON = ()                   # limbs drawn by the markers (pose)

    def __init__(self, node_name: Optional[str] = None, *, frame_source=None,
                 model_factory=None, stages: Sequence[ResultStage] = (), **node_kwargs):
        super().__init__(node_name or self.NODE_NAME, **node_kwargs)
        if self.EXECUTABLE:
            self.TASKS = tasks_of(self.EXECUTABLE)
        self._stats = NodeStats()
        self._diagnostics = Diagnostics(self._stats)
        self._frame_source = frame_source
        self._model_factory = model_factory
        self._stages = list(stages)
        self._tracking = None           # the tracker parameter's stage, made at configure
        self._depth = None              # the use_depth parameter's stage, made at configure
        self._worker = None
        self._model = None
        self._models = []
        self._cameras = []
        self._label_pub = self._diag_pub = self._diag_timer = None
        self._debug_enabled = False
        self._enabled = True
        self._active = False
        self._configured = False
        self._closed = False
        self._failure = ''
        self._settings = {}
        self._warned = set()
        self._description = ''
        self._task = None
        self._class_id_format = 'index'
        self._image_qos = 'sensor_data'
        self._compressed = self._keep_nv12 = False
        self._cpus = None
        self._topic = ''
        self._models_lock = threading.Lock()
        try:
            self._declare()
        except START_ERRORS as exc:
            self._fail_construction(str(exc))
        self._enable_srv = self.create_service(SetBool, '~/enable', self._on_enable)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self._param('autostart'):
            if self.trigger_configure() != SUCCESS:
                self._fail_construction(self._failure or 'configure failed')
            if self.trigger_activate() != SUCCESS:
                self._fail_construction(self._failure or 'activate failed')

    def _fail_construction(self, reason: str):
        if not self._failure:
            self.get_logger().error(reason)
        self.close()
        self.destroy_node()
        raise StartupError(reason) from None

    # -- what a task node provides ----------------------------------------------------------
    def _decode_parameters(self, options):
        """Return the decoding parameters (default: those of detection models)."""
        return detection_parameters(options)

    def _task_parameters(self):
        """Return extra (name, default, descriptor); their values live in ``self._settings``."""
        return []

    def outputs_class(self, task: str):
        """Return the ``Outputs`` class for the model's task (default: OUTPUTS)."""
        return self.OUTPUTS

    # -- what outputs and stages read -------------------------------------------------------
    @property
    def model(self):
        """Worker 0's model: class names, options, input spec."""
        return self._model

    @property
    def task(self) -> str:
        """Return the model's task, known once configured."""
        return self._task

    @property
    def class_id_format(self) -> str:
        """Return how ObjectHypothesis.class_id is written: 'index' or 'name'."""
        return self._class_id_format

    def setting(self, name: str):
        """Return the current value of a task parameter (``_task_parameters``)."""
        return self._settings[name]

    def add_stage(self, stage: ResultStage):
        """Append a result stage (before configure; it runs after the ones given before)."""
        if self._configured:
            raise RuntimeError('add stages before the node is configured')
        self._stages.append(stage)

    @property
    def state(self) -> str:
        """Return the lifecycle state label: unconfigured, inactive, active or finalized."""
        return self._state_machine.current_state[1]

    # -- parameters -----------------------------------------------------------------------
    def _param(self, name):
        value = self.get_parameter(name).value
        return [] if value is None else value

    def _declare(self):
        name, _, desc = MODEL_PARAMETER
        self.declare_parameter(name, default_model(), desc)
        model = self._param('model')
        decode = self._decode_parameters(card_options(model))
        task_params = self._task_parameters()
        for name, default, desc in ([BACKEND_PARAMETER] + control_parameters() + decode
                                    + runtime_parameters(self.DEBUG_TOPIC_TEXT or self.DEBUG_TOPIC)
                                    + pool_parameters() + task_params
                                    + (tracking_parameters() if self.TRACKING else [])
                                    + (depth_parameters() if self.DEPTH else [])):
            self.declare_parameter(name, default, desc)
        self._decode_names = {name for name, _, _ in decode}
        self._settings = {name: self._param(name) for name, _, _ in task_params}
        self._debug_enabled = bool(self._param('publish_debug_image'))

    def _on_set_parameters(self, params):
        options = self._model.options if self._model is not None else None
        updates, debug, settings, tracking = {}, None, {}, {}
        try:
            for param in params:
                if self.TRACKING and param.name in TRACKER_SETTINGS:
                    tracking[param.name] = param.value
                elif param.name not in self._decode_names and param.name in self._settings:
                    settings[param.name] = param.value
                elif param.name in ('confidence_threshold', 'nms_threshold'):
                    value = float(param.value)
                    if not 0.0 <= value <= 1.0:
                        raise ValueError(f'{param.name} must be within [0, 1], got {value}')
                    updates[param.name] = value
                elif param.name in ('max_detections', 'top_k'):
                    updates[param.name] = int(param.value)
                elif param.name == 'classes':
                    value = check_array_type('classes', param.value)
                    if self._model is not None:
                        updates['classes'] = resolve_classes(value, self._model.class_names)
                elif param.name == 'publish_debug_image':
                    debug = bool(param.value)
            new_options = dataclasses.replace(options, **updates) if options else None
            if tracking:        # checked together with the others' current values
                new_tracking = tracker_settings({**self._tracker_values(), **tracking})
        except (TypeError, ValueError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if tracking and self._tracking is not None:
            self._tracking.settings = new_tracking
        if new_options is not None:
            self._set_options(new_options)
        self._settings.update(settings)
        if debug is not None:
            self._debug_enabled = debug
            if debug and self._configured:
                self._create_debug_publishers()
        if options is not None and getattr(new_options, 'confidence_threshold', None) != \
                getattr(options, 'confidence_threshold', None):
            self._publish_label_info()
        return SetParametersResult(successful=True)

    def _tracker_values(self) -> dict:
        return {name: self._param(name) for name in TRACKER_SETTINGS}

    def _all_stages(self):
        """Return the stages in the order they run: the tracker first, then the given ones."""
        return [s for s in (self._tracking, self._depth) if s is not None] + self._stages

    @property
    def camera_prefixes(self):
        """Return each camera's output prefix ('' for the single image topic), once configured."""
        return [camera.prefix for camera in self._cameras]

    @property
    def image_qos(self) -> str:
        """Return the image subscription QoS name (sensor_data or reliable)."""
        return self._image_qos

    # -- transitions ----------------------------------------------------------------------
    def on_configure(self, state):
        """Load the model contexts and create the publishers."""
        try:
            self._configure()
        except Exception as exc:        # Humble's rclpy would swallow it without a word
            self._transition_failed(_reason(exc))
            self._release_models()
            self._destroy_publishers()
            return FAILURE
        self._configured = True
        self._failure = ''
        return SUCCESS

    def on_activate(self, state):
        """Start inference: contexts (again, after a deactivate), the pool, the subscriptions."""
        try:
            if not self._models:
                self._load_models()
            self._start_pool()
            self._active = True         # before subscribing: no frame is ignored unseen
            self._subscribe()
        except Exception as exc:        # Humble's rclpy would swallow it without a word
            self._transition_failed(_reason(exc))
            self._stop_inference()
            return FAILURE
        self._publish_label_info()
        self._failure = ''
        self.get_logger().info(
            f'{self._description}; {len(self._models)} worker(s); classes '
            f'{", ".join(self._model.class_names)}; listening on {self._topics()} '
            f'({self._image_qos}{", shared" if self._frame_source is not None else ""})')
        return super().on_activate(state)

    def on_deactivate(self, state):
        """Stop inference and release the contexts (the publishers stay)."""
        self._stop_inference()
        for stage in self._all_stages():
            stage.reset()
        return super().on_deactivate(state)

    def on_cleanup(self, state):
        """Free everything configure created."""
        self._release_models()
        self._destroy_publishers()
        for stage in self._all_stages():
            stage.close()
        self._tracking = self._depth = None
        self._configured = False
        return super().on_cleanup(state)

    def on_shutdown(self, state):
        """Release everything (the node may be destroyed next)."""
        self.close()
        return super().on_shutdown(state)

    def _transition_failed(self, reason: str):
        self._failure = reason
        self.get_logger().error(reason)

    def _on_enable(self, request, response):
        """~/enable: pause (false) or resume (true) inference without a transition."""
        self._enabled = bool(request.data)
        response.success = True
        response.message = (f'inference {"enabled" if self._enabled else "paused"} '
                            f'(lifecycle state {self.state})')
        self.get_logger().info(response.message)
        return response

    # -- configure ------------------------------------------------------------------------
    def _configure(self):
        transport = check_choice('image_transport', self._param('image_transport'), TRANSPORTS)
        self._image_qos = check_choice('image_qos', self._param('image_qos'), IMAGE_QOS)
        self._class_id_format = check_choice('class_id_format', self._param('class_id_format'),
                                             CLASS_ID_FORMATS)
        if LabelInfo is None:       # vision_msgs 4.0.0: no table to look ids up in
            self._class_id_format = 'name'
        if 'classes' in self._decode_names:
            check_array_type('classes', self._param('classes'))
        topics = check_array_type('image_topics', self._param('image_topics'))
        if len(set(topics)) != len(topics):
            raise ValueError(f'image_topics lists a topic twice: {topics!r}')
        self._compressed = transport == 'compressed'
        self._load_models()
        self._description = self._model.describe()
        for finding in getattr(self._model.backend, 'findings', ()):
            self.get_logger().warning(str(finding))
        if topics:
            self._cameras = [_Camera(i, t, camera_prefix(t)) for i, t in enumerate(topics)]
        else:
            self._cameras = [_Camera(0, 'image', '')]
        prefixes = [c.prefix for c in self._cameras]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f'image_topics {topics!r} give the same output namespace twice '
                             f'({prefixes!r}): each camera needs a namespace of its own')
        self._label_pub = None
        if LabelInfo is not None:
            self._label_pub = self.create_publisher(LabelInfo, 'label_info', LATCHED_QOS)
        else:
            _warn_once_no_label_info(self.get_logger())
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        outputs = self.outputs_class(self._task)
        for camera in self._cameras:
            camera.outputs = outputs(self, camera.prefix)
            if tros.available():
                camera.targets_pub = self.create_publisher(
                    tros.PerceptionTargets, join(camera.prefix, 'perception_targets'), 10)
        if self._debug_enabled:
            self._create_debug_publishers()
        self._tracking = None
        if self.TRACKING and check_choice('tracker', self._param('tracker'),
                                          TRACKERS) != 'none' and self._task != 'semantic':
            self._tracking = TrackingStage(tracker_settings(self._tracker_values()))
        self._depth = None
        use_depth = self.DEPTH and bool(self._param('use_depth'))
        if (use_depth or self.MARKERS) and self._task != 'semantic':
            self._depth = DepthStage(
                use_depth, self._param('depth_slop'), self._param('depth_max_wait'),
                self._param('assume_registered'), self._param('marker_distance'),
                skeleton=self.SKELETON,
                keypoint_threshold=self._settings.get('keypoint_threshold', 0.5))
        for stage in self._all_stages():
            stage.configure(self)
        self._diag_timer = self.create_timer(DIAGNOSTICS_PERIOD, self._publish_diagnostics)

    def _debug_topic(self) -> str:
        return getattr(self._cameras[0].outputs, 'DEBUG_TOPIC', None) or self.DEBUG_TOPIC

    def _create_debug_publishers(self):
        for camera in self._cameras:
            if camera.debug_pub is None:
                camera.debug_pub = self.create_publisher(
                    Image, join(camera.prefix, self._debug_topic()), DEBUG_QOS)

    def _load_models(self):
        model = self._param('model')
        cpus = check_array_type('cpu_affinity', self._param('cpu_affinity'))
        cpus = tuple(sorted(validate_cpus(cpus))) if len(cpus) else None
        self._cpus = cpus
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
        models = []
        try:
            for index in range(len(masks)):
                models.append(self._reload(index))
                if len(models) == 1:
                    self._check_task(models[0], model)
        except BaseException:
            for loaded in models:
                loaded.close()
            raise
        for loaded in models:     # a classifier's first-frame check logs its finding
            if getattr(loaded.decoder, 'scores', None) is not None:
                loaded.decoder.scores.warn = self._warn_once
        with self._models_lock:
            self._models = models
            self._model = models[0]
        if 'classes' in self._decode_names:
            classes = resolve_classes(self._param('classes'), self._model.class_names)
            self._set_options(dataclasses.replace(self._model.options, classes=classes))
        # NV12 models (RDK BPU) take nv12 camera frames as they are: no conversion, no copy.
        self._keep_nv12 = self._model.input_spec.color == 'nv12'

    def _check_task(self, model, reference):
        task = getattr(model, 'task', None) or getattr(model.spec, 'task', 'detect')
        if task not in self.TASKS:
            other = TASK_NODES.get(task)
            hint = f'run {other.executable} for it' if other else 'no node runs that task'
            raise ConfigError(
                f'{reference} is a {task!r} model, but the {self.NODE_NAME} node runs '
                f'{" or ".join(repr(t) for t in self.TASKS)} models: {hint}')
        self._task = task

    # -- activate / deactivate ------------------------------------------------------------
    def _start_pool(self):
        self._worker = WorkerPool(len(self._models), self._work, self._emit,
                                  name=f'{self.NODE_NAME}-inference', cpu_affinity=self._cpus,
                                  on_error=self._on_worker_error, contexts=list(self._models),
                                  reopen=self._reopen_context, close=lambda m: m.close(),
                                  classify=self._bad_reason,
                                  max_latency_ms=self._param('max_latency_ms'),
                                  inference_timeout_ms=self._param('inference_timeout_ms'),
                                  on_timeout=self._on_inference_timeout)
        for camera in self._cameras:
            camera.published = camera.received = 0

    def _subscribe(self):
        for camera in self._cameras:
            topic = camera.topic
            if self._compressed:
                # the transport's topic follows the resolved, remapped base topic, as
                # image_pipeline nodes subscribe: -r image:=/cam/image_raw gives
                # /cam/image_raw/compressed
                topic = self.resolve_topic_name(topic) + '/compressed'
            if self._frame_source is None:
                camera.subscription = self.create_subscription(
                    CompressedImage if self._compressed else Image, topic,
                    lambda msg, c=camera: self._accept(c, SharedFrame(msg, self._compressed)),
                    image_qos(self._image_qos),
                    event_callbacks=SubscriptionEventCallbacks(
                        incompatible_qos=lambda event, c=camera: self._qos_event(c, event)),
                    qos_overriding_options=image_qos_overrides())
                camera.resolved = camera.subscription.topic_name
            else:
                camera.resolved = self.resolve_topic_name(topic)
                self._frame_source.attach(
                    self, camera.resolved, self._compressed, self._image_qos,
                    deliver=lambda frame, c=camera: self._accept(c, frame),
                    on_qos=lambda event, c=camera: self._qos_event(c, event))
        self._topic = self._cameras[0].resolved

    def _unsubscribe(self):
        if self._frame_source is not None:
            self._frame_source.detach(self)
        for camera in self._cameras:
            if camera.subscription is not None:
                self.destroy_subscription(camera.subscription)
                camera.subscription = None

    def _stop_inference(self):
        """Stop intake and the pool; the pool frees each context after its call returned."""
        self._active = False
        self._unsubscribe()
        worker, self._worker = self._worker, None
        if worker is not None:
            # with the ROS context gone the finished results cannot be published any more
            if not worker.stop(publish_ready=self.context.ok()):
                self.get_logger().warning('an inference was still running at shutdown: its '
                                          'context is freed when it returns')
            self._stats.retire(worker.counts())
            with self._models_lock:
                self._models = []           # freed by the pool
        else:
            self._release_models()

    def _release_models(self):
        with self._models_lock:
            models, self._models = self._models, []
        for model in models:
            model.close()

    def _destroy_publishers(self):
        if self._diag_timer is not None:
            # destroy only: rclpy destroys a timer once the executor no longer holds it, while
            # cancel() from this thread races the executor, whose call of a timer it already
            # took as ready then raises "timer is canceled" and ends its spin
            timer, self._diag_timer = self._diag_timer, None
            self.destroy_timer(timer)
        for camera in self._cameras:
            if camera.outputs is not None:
                camera.outputs.destroy()
            for pub in (camera.debug_pub, camera.targets_pub):
                if pub is not None:
                    self.destroy_publisher(pub)
            camera.outputs = camera.debug_pub = camera.targets_pub = None
        for pub in (self._label_pub, self._diag_pub):
            if pub is not None:
                self.destroy_publisher(pub)
        self._label_pub = self._diag_pub = None

    # -- per frame ------------------------------------------------------------------------
    def accept_frame(self, frame: SharedFrame):
        """Take one frame of the first camera (a container's shared subscription calls it)."""
        self._accept(self._cameras[0], frame)

    def _accept(self, camera: _Camera, frame: SharedFrame):
        worker = self._worker
        if worker is None or not self._active:
            return
        # every frame received counts in the stages' frame_index (a frame never inferred:
        # paused, dropped, late or bad, is a gap for the tracker, not a reset)
        with self._stats.lock:
            index, camera.received = camera.received, camera.received + 1
            if not self._enabled:
                self._stats.frames_paused += 1
                return
            self._stats.frames_in += 1
        worker.submit((camera, frame, index))   # converted and inferred on a worker thread

    def _set_options(self, options):
        with self._models_lock:
            for model in self._models:
                model.options = options

    def _warn_once(self, text: str):
        """Log a model's warning once per node (every worker's model may find the same)."""
        with self._stats.lock:
            if text in self._warned:
                return
            self._warned.add(text)
        self.get_logger().warning(text)

    def _work(self, model, item):
        """Convert (once per process) and infer with ``model`` (the worker's own context)."""
        frame = item[1]
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

    def _emit(self, item, result: FrameResult):
        """Run the stages and publish one frame's results (called in frame order)."""
        camera, frame, index = item
        header = frame.header
        t0 = time.perf_counter()
        camera.published += 1
        for stage in self._all_stages():
            stage.process(camera.prefix, index, header, result)
        outputs = camera.outputs
        outputs.publish(header, result)
        publish = time.perf_counter() - t0
        if camera.debug_pub is not None and self._debug_enabled:
            image = result.image
            bgr = image.to_bgr() if isinstance(image, Nv12Frame) else image
            camera.debug_pub.publish(bgr_to_image(outputs.draw(bgr, result.output), header))
        self._stats.record(convert=result.convert, pre=result.times.pre,
                           infer=result.times.infer, decode=result.times.decode,
                           publish=publish)
        if camera.targets_pub is not None:
            camera.targets_pub.publish(self._perception_targets(outputs, header, result))

    def _perception_targets(self, outputs, header, result: FrameResult):
        image = result.image
        if isinstance(image, Nv12Frame):
            width, height = image.width, image.height
        else:
            height, width = image.shape[:2]
        perfs = tros.node_perfs(self.get_name(), result, header,
                                self.get_clock().now().nanoseconds)
        return tros.perception_targets(header, outputs.targets(result.output, width, height),
                                       perfs, self._stats.recent_fps())

    def _on_worker_error(self, exc):
        if isinstance(exc, ImageFormatError):
            with self._stats.lock:
                self._stats.frames_bad += 1
            self.get_logger().error(f'skipping a malformed frame on {self._topics()}: {exc}',
                                    throttle_duration_sec=LOG_THROTTLE)
            return
        with self._stats.lock:
            self._stats.errors += 1
            self._stats.last_error = f'{type(exc).__name__}: {exc}'
        self.get_logger().error(f'inference failed on a frame from {self._topics()}: '
                                f'{type(exc).__name__}: {exc}', throttle_duration_sec=LOG_THROTTLE)

    def _qos_event(self, camera: _Camera, event):
        self.get_logger().warning(incompatible_qos_hint(camera.resolved, self._image_qos, event))

    def on_incompatible_qos(self, event):
        """Log why a camera's images cannot arrive, with the fix (first camera)."""
        self._qos_event(self._cameras[0], event)

    # -- label info and diagnostics -------------------------------------------------------
    def _label_threshold(self) -> float:
        return float(getattr(self._model.options, 'confidence_threshold', 0.0))

    def _publish_label_info(self):
        if self._label_pub is None or self._model is None:  # vision_msgs < 4.1.0 (said once)
            return
        msg = label_info_msg(self._model.class_names, self._label_threshold())
        msg.header.stamp = self.get_clock().now().to_msg()
        self._label_pub.publish(msg)

    def _topics(self) -> str:
        return ', '.join(c.resolved or c.topic for c in self._cameras)

    def counters(self) -> dict:
        """Frame counters so far (over every activation): in, out, dropped, bad, errors."""
        return counters(self._stats, self._worker)

    def _publish_diagnostics(self):
        if self._diag_pub is None or self._closed:
            return
        state = self.state if self._enabled else 'paused'
        backend = self._model.backend.name if self._model is not None else ''
        status = self._diagnostics.status(
            f'{self.get_fully_qualified_name()}: {self.PURPOSE}', self.counters(), state,
            self._topics(), int(self._param('workers')), self._description, backend)
        for stage in self._all_stages():        # e.g. depth pairing counts and reasons
            extra = getattr(stage, 'diagnostics', None)
            if extra is not None:
                status.values += [KeyValue(key=str(k), value=str(v)) for k, v in extra().items()]
        self._diag_pub.publish(diagnostic_array([status], self.get_clock().now().to_msg()))

    # -- shutdown -------------------------------------------------------------------------
    def close(self):
        """Stop the inference workers (the frames in progress finish) and free the models."""
        if self._closed:
            return
        self._closed = True     # from here the diagnostics timer does nothing (it reads models)
        self._stop_inference()
        for stage in self._all_stages():
            stage.close()


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
