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
The lifecycle base of every perception node: the transitions, the parameter callback, wiring.

``PerceptionNode`` is a managed node (``rclpy.lifecycle``). Its transitions:

* constructor: declares every parameter (``parameters``) and the ``~/enable`` service;
  with ``autostart`` (true) it configures and activates itself, so ``ros2 run`` is one
  command, and raises ``StartupError`` when either fails (``startup``);
* configure: loads one model context per worker and checks the model's task
  (``model_contexts``), creates the publishers (the task's ``Outputs`` per camera,
  ``label_info``, ``/diagnostics``, the debug image, TROS ``perception_targets``:
  ``result_publishing``) and configures the result stages;
* activate: (re)loads the contexts if a deactivate released them, starts the worker pool,
  subscribes to the image topic(s) (or attaches to a container's shared subscription:
  ``frame_intake``) and publishes ``label_info``;
* deactivate: unsubscribes, stops the pool (the frames in progress finish) and releases the
  contexts (the NPU is free for another process);
* cleanup: destroys the publishers; shutdown: releases everything.

``~/enable`` (std_srvs/SetBool) pauses and resumes inference without a transition: frames
received while paused are counted (``frames_paused``) and not inferred. A task node gives its
``Outputs`` class (``outputs_class``); ``stages`` run in frame order, one frame at a time.
Counters and /diagnostics: ``diagnostics``; failed frames and contexts: ``worker_faults``.
"""

from typing import Optional, Sequence, Tuple

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from std_srvs.srv import SetBool

from .diagnostics import counters, Diagnostics, NodeStats
from .frame_intake import FrameIntake
from .messages import LabelInfo
from .model_contexts import ModelContexts
from .node_parameters import declare_parameters, parameter_changes
from .parameters import (check_array_type, check_choice, CLASS_ID_FORMATS, default_model,
                         descriptor, detection_parameters, per_worker_core_masks,
                         resolve_classes, T)
from .qos import incompatible_qos_hint
from .result_publishing import ResultPublishing
from .result_stages import parameter_stages, tracker_values
from .stages import FrameResult, ResultStage
from .startup import main_for, run, START_ERRORS, StartupError, transition_reason
from .status_publishing import StatusPublishing
from .tasks import tasks_of
from .worker_faults import WorkerFaults
from ..pool import WorkerPool

__all__ = ['default_model', 'descriptor', 'FrameResult', 'main_for', 'PerceptionNode',
           'per_worker_core_masks', 'resolve_classes', 'ResultStage', 'run', 'StartupError', 'T']

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE


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
        self._frame_source = frame_source
        self._stages = list(stages)
        self._tracking = None           # the tracker parameter's stage, made at configure
        self._depth = None              # the use_depth parameter's stage, made at configure
        self._intake = FrameIntake(self, self._stats)
        self._faults = WorkerFaults(self.get_logger(), self._stats, self._intake.topics)
        self._contexts = ModelContexts(self.get_logger(), self._faults.warn_once, model_factory)
        self._results = ResultPublishing(self, self._stats, self._all_stages)
        self._status = StatusPublishing(self, Diagnostics(self._stats), self._all_stages)
        self._configured = False
        self._closed = False
        self._failure = ''
        self._settings = {}
        self._description = ''
        self._class_id_format = 'index'
        self._topic = ''
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
        return self._contexts.model

    # what tests and benchmarks look at: worker 0's model, every context, the running pool
    _model = model
    _models = property(lambda self: self._contexts.models)
    _worker = property(lambda self: self._intake.pool)

    @property
    def task(self) -> str:
        """Return the model's task, known once configured."""
        return self._contexts.task

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

    @property
    def camera_prefixes(self):
        """Return each camera's output prefix ('' for the single image topic), once configured."""
        return [camera.prefix for camera in self._intake.cameras]

    @property
    def image_qos(self) -> str:
        """Return the image subscription QoS name (sensor_data or reliable)."""
        return self._intake.image_qos

    def accept_frame(self, frame):
        """Take one frame of the first camera (a container's shared subscription calls it)."""
        self._intake.accept(self._intake.cameras[0], frame)

    # -- parameters -----------------------------------------------------------------------
    def _param(self, name):
        value = self.get_parameter(name).value
        return [] if value is None else value

    def _declare(self):
        self._decode_names, self._settings = declare_parameters(
            self, self._param, self._decode_parameters, self._task_parameters)
        self._results.debug_enabled = bool(self._param('publish_debug_image'))

    def _on_set_parameters(self, params):
        try:
            changes = parameter_changes(params, self._model, self._decode_names, self._settings,
                                        self.TRACKING, lambda: tracker_values(self._param))
        except (TypeError, ValueError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if changes.tracking is not None and self._tracking is not None:
            self._tracking.settings = changes.tracking
        if changes.options is not None:
            self._contexts.set_options(changes.options)
        self._settings.update(changes.settings)
        if changes.debug is not None:
            self._results.debug_enabled = changes.debug
            if changes.debug and self._configured:
                self._results.create_debug(self._intake.cameras, self._debug_topic())
        if changes.threshold_changed:
            self._status.publish_label_info(self._model)
        return SetParametersResult(successful=True)

    def _all_stages(self):
        """Return the stages in the order they run: the tracker first, then the given ones."""
        return [s for s in (self._tracking, self._depth) if s is not None] + self._stages

    # -- transitions ----------------------------------------------------------------------
    def on_configure(self, state):
        """Load the model contexts and create the publishers."""
        try:
            self._configure()
        except Exception as exc:        # Humble's rclpy would swallow it without a word
            self._transition_failed(transition_reason(exc))
            self._contexts.release()
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
            self._intake.active = True  # before subscribing: no frame is ignored unseen
            self._intake.subscribe(self._frame_source, self._qos_event)
            self._topic = self._intake.cameras[0].resolved
        except Exception as exc:        # Humble's rclpy would swallow it without a word
            self._transition_failed(transition_reason(exc))
            self._stop_inference()
            return FAILURE
        self._status.publish_label_info(self._model)
        self._failure = ''
        self.get_logger().info(
            f'{self._description}; {len(self._models)} worker(s); classes '
            f'{", ".join(self._model.class_names)}; listening on {self._intake.topics()} '
            f'({self.image_qos}{", shared" if self._frame_source is not None else ""})')
        return super().on_activate(state)

    def on_deactivate(self, state):
        """Stop inference and release the contexts (the publishers stay)."""
        self._stop_inference()
        for stage in self._all_stages():
            stage.reset()
        return super().on_deactivate(state)

    def on_cleanup(self, state):
        """Free everything configure created."""
        self._contexts.release()
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
        self._intake.enabled = bool(request.data)
        response.success = True
        response.message = (f'inference {"enabled" if self._intake.enabled else "paused"} '
                            f'(lifecycle state {self.state})')
        self.get_logger().info(response.message)
        return response

    # -- configure ------------------------------------------------------------------------
    def _configure(self):
        self._class_id_format = check_choice('class_id_format', self._param('class_id_format'),
                                             CLASS_ID_FORMATS)
        if LabelInfo is None:       # vision_msgs 4.0.0: no table to look ids up in
            self._class_id_format = 'name'
        if 'classes' in self._decode_names:
            check_array_type('classes', self._param('classes'))
        self._intake.configure(self._param)
        self._load_models()
        self._description = self._model.describe()
        for finding in getattr(self._model.backend, 'findings', ()):
            self.get_logger().warning(str(finding))
        self._status.create(self._publish_diagnostics)
        self._results.create(self._intake.cameras, self.outputs_class(self.task))
        if self._results.debug_enabled:
            self._results.create_debug(self._intake.cameras, self._debug_topic())
        self._tracking, self._depth = parameter_stages(self, self._param, self._settings)
        for stage in self._all_stages():
            stage.configure(self)

    def _debug_topic(self) -> str:
        return getattr(self._intake.cameras[0].outputs, 'DEBUG_TOPIC', None) or self.DEBUG_TOPIC

    def _load_models(self):
        self._contexts.load(self._param, self._decode_names, self.TASKS, self.NODE_NAME)
        # NV12 models (RDK BPU) take nv12 camera frames as they are: no conversion, no copy.
        self._intake.keep_nv12 = self._contexts.keep_nv12

    # -- activate / deactivate ------------------------------------------------------------
    def _start_pool(self):
        faults = self._faults
        timeout_ms = self._param('inference_timeout_ms')
        self._intake.pool = WorkerPool(
            len(self._models), self._intake.infer, self._results.emit,
            name=f'{self.NODE_NAME}-inference', cpu_affinity=self._contexts.cpus,
            on_error=faults.on_error, contexts=list(self._models),
            reopen=self._contexts.reopen, close=lambda m: m.close(), classify=faults.classify,
            max_latency_ms=self._param('max_latency_ms'), inference_timeout_ms=timeout_ms,
            on_timeout=lambda index, seconds: faults.on_timeout(index, seconds, timeout_ms))
        for camera in self._intake.cameras:
            camera.published = camera.received = 0

    def _stop_inference(self):
        """Stop intake and the pool; the pool frees each context after its call returned."""
        # with the ROS context gone the finished results cannot be published any more
        counts = self._intake.stop(self._frame_source, self.context.ok(), self.get_logger())
        if counts is None:
            self._contexts.release()
        else:
            self._stats.retire(counts)
            self._contexts.hand_over()      # freed by the pool

    def _destroy_publishers(self):
        self._status.destroy()
        self._results.destroy(self._intake.cameras)

    def _qos_event(self, camera, event):
        self.get_logger().warning(incompatible_qos_hint(camera.resolved, self.image_qos, event))

    def on_incompatible_qos(self, event):
        """Log why a camera's images cannot arrive, with the fix (first camera)."""
        self._qos_event(self._intake.cameras[0], event)

    # -- counters and diagnostics -------------------------------------------------------
    def counters(self) -> dict:
        """Frame counters so far (over every activation): in, out, dropped, bad, errors."""
        return counters(self._stats, self._intake.pool)

    def _publish_diagnostics(self):
        if self._closed:
            return
        self._status.publish_diagnostics(
            self.PURPOSE, self.counters(), self.state if self._intake.enabled else 'paused',
            self._intake.topics(), int(self._param('workers')), self._description,
            self._contexts.backend_name)    # the backend's name even while released

    # -- shutdown -------------------------------------------------------------------------
    def close(self):
        """Stop the inference workers (the frames in progress finish) and free the models."""
        if self._closed:
            return
        self._closed = True     # from here the diagnostics timer does nothing (it reads models)
        self._stop_inference()
        for stage in self._all_stages():
            stage.close()
