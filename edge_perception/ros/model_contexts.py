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
The node's model contexts: one per inference worker, each with its NPU core mask.

``ModelContexts.load`` reads the loading parameters (model, backend, workers, core_mask,
threads, cpu_affinity, soc and the card's load options), loads one context per worker
(``per_worker_core_masks``: RKNN ``core_mask``, RDK ``bpu_core``), checks that the model runs
a task of the node (a ``ConfigError`` naming the node that runs it otherwise) and applies the
``classes`` filter. ``reopen`` loads a fresh context for a worker whose inference hung (the
pool calls it); ``release`` frees every context (deactivate, cleanup).
"""

import dataclasses
import threading

from .parameters import check_array_type, LOAD_OPTIONS, per_worker_core_masks, resolve_classes
from .tasks import TASK_NODES
from ..affinity import validate_cpus
from ..errors import ConfigError
from ..model import backend_for, load_model

#: The load option that pins a context to NPU cores, per backend.
CORE_OPTIONS = {'rknn': 'core_mask', 'rdk': 'bpu_core'}


def model_task(model) -> str:
    """Return a loaded model's task ('detect' when it says none)."""
    return getattr(model, 'task', None) or getattr(model.spec, 'task', 'detect')


class ModelContexts:
    """
    The loaded contexts of one node: ``models`` (one per worker), ``model`` (worker 0's).

    ``logger``: the node's; ``warn``: logs a model's finding once per node (every worker's
    model may find the same); ``model_factory`` (benchmarks only, never a default):
    ``model_factory(index)`` returns worker ``index``'s model instead of ``load_model``.
    """

    def __init__(self, logger, warn, model_factory=None):
        self.lock = threading.Lock()
        self.models = []
        self.model = None
        self.task = None
        self.cpus = None                # cpu_affinity of the workers (None: any)
        self.backend_name = ''          # kept when the contexts are released (diagnostics)
        self._logger = logger
        self._warn = warn
        self._factory = model_factory
        self._reload = None

    @property
    def keep_nv12(self) -> bool:
        """Return True for NV12 models (RDK BPU): nv12 frames go to them as they are."""
        return self.model is not None and self.model.input_spec.color == 'nv12'

    def load(self, param, decode_names, tasks, node_name):
        """Load one context per worker from the parameters (``param(name)`` reads one)."""
        model = param('model')
        cpus = check_array_type('cpu_affinity', param('cpu_affinity'))
        self.cpus = tuple(sorted(validate_cpus(cpus))) if len(cpus) else None
        masks = per_worker_core_masks(param('core_mask'), param('workers'))
        backend = backend_for(model, param('backend'))
        option_name = CORE_OPTIONS.get(backend)
        if option_name is None and any(masks):
            raise ValueError(f'core_mask applies to NPU backends; {backend} has none')
        options = {name: param(name) for name in LOAD_OPTIONS if name in decode_names}

        def load(mask):
            return load_model(
                model, backend=backend, threads=param('threads'), cpu_affinity=self.cpus,
                backend_options={option_name: mask} if mask else None,
                soc=param('soc') or None, **options)
        self._reload = lambda index: load(masks[index])     # a hung context's replacement
        if self._factory is not None:     # benchmarks: e.g. the NPU stand-in
            self._reload = self._factory
        models = []
        try:
            for index in range(len(masks)):
                models.append(self._reload(index))
                if len(models) == 1:
                    self.task = self.check_task(models[0], model, tasks, node_name)
        except BaseException:
            for loaded in models:
                loaded.close()
            raise
        for loaded in models:     # a classifier's first-frame check logs its finding
            self._hook_warnings(loaded)
        with self.lock:
            self.models = models
            self.model = models[0]
            self.backend_name = models[0].backend.name
        if 'classes' in decode_names:
            classes = resolve_classes(param('classes'), self.model.class_names)
            self.set_options(dataclasses.replace(self.model.options, classes=classes))

    @staticmethod
    def check_task(model, reference, tasks, node_name) -> str:
        """Return the model's task; ConfigError (naming the node for it) if not in ``tasks``."""
        task = model_task(model)
        if task not in tasks:
            other = TASK_NODES.get(task)
            hint = f'run {other.executable} for it' if other else 'no node runs that task'
            raise ConfigError(
                f'{reference} is a {task!r} model, but the {node_name} node runs '
                f'{" or ".join(repr(t) for t in tasks)} models: {hint}')
        return task

    def _hook_warnings(self, model):
        if getattr(model.decoder, 'scores', None) is not None:
            model.decoder.scores.warn = self._warn

    def reopen(self, index, old):
        """Load a fresh context for worker ``index`` after ``old`` hung (the pool calls it)."""
        new = self._reload(index)
        self._hook_warnings(new)                                # as at start-up
        with self.lock:
            new.options = self.models[index].options
            self.models[index] = new
            if index == 0:
                self.model = new
        self._logger.warning(f'worker {index}: a fresh model context replaces the hung one')
        return new

    def set_options(self, options):
        """Give every context the same decoding options (a parameter changed)."""
        with self.lock:
            for model in self.models:
                model.options = options

    def hand_over(self):
        """Forget the contexts without closing them: a stopped pool frees them (deactivate)."""
        with self.lock:
            self.models = []

    def release(self):
        """Close every context (the NPU is free for another process)."""
        with self.lock:
            models, self.models = self.models, []
        for model in models:
            model.close()
