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
``perception_container``: several perception nodes in one process, sharing image input.

A YAML file lists the nodes (config/composition/*.yaml)::

    threads: 4                      # executor threads (optional; default: one per node + 1)
    nodes:
      - task: detect                # detect, segment (also semantic models), pose, classify
        name: detector              # optional; default the task's node name
        namespace: /front           # optional
        parameters: {model: /models/yolov8n.yaml, image_qos: reliable}
        remappings: {image: /camera/image_raw}

Every node is the same class its own executable runs, on one MultiThreadedExecutor. Instead of
one image subscription per node, the process has one per resolved topic (and transport and
QoS), owned by the ``perception_container`` node; each received image becomes one
``SharedFrame`` handed to every node on that topic, so the image is converted (decoded,
colour-converted) once per process, by the first worker that needs it, not once per node.
Each node keeps its own worker pool, newest-frame-wins queue and diagnostics.
Run: ``ros2 run edge_perception perception_container <config.yaml> [--ros-args ...]``.
"""

import os
import sys
import threading
from typing import Dict, List, Optional

from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image
import yaml

from .frames import SharedFrame
from .node_base import StartupError
from .qos import image_qos, image_qos_overrides, SubscriptionEventCallbacks
from .tasks import node_class, TASK_NODES
from ..errors import ConfigError

#: Task names a container entry takes (model tasks: semantic models run in the segmenter).
TASK_CLASSES = {task: node.target for task, node in TASK_NODES.items()}
NODE_KEYS = {'task', 'name', 'namespace', 'parameters', 'remappings'}
CONTAINER_NAME = 'perception_container'


def load_config(path: str) -> dict:
    """
    Read and check a container YAML file; return {'threads': int or None, 'nodes': [...]}.

    Each node entry gets all of NODE_KEYS (defaults filled in). ConfigError says what is wrong.
    """
    try:
        with open(path) as stream:
            data = yaml.safe_load(stream) or {}
    except OSError as exc:
        raise ConfigError(f'container config {path}: {exc.strerror}') from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'container config {path}: not valid YAML: {exc}') from None
    if not isinstance(data, dict) or not isinstance(data.get('nodes'), list) \
            or not data['nodes']:
        raise ConfigError(f'container config {path}: needs a non-empty list "nodes"')
    unknown = set(data) - {'nodes', 'threads'}
    if unknown:
        raise ConfigError(f'container config {path}: unknown keys {sorted(unknown)} '
                          '(known: nodes, threads)')
    threads = data.get('threads')
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ConfigError(f'container config {path}: threads must be a positive integer')
    nodes, seen, namespaces = [], set(), {}
    for index, entry in enumerate(data['nodes']):
        where = f'container config {path}: nodes[{index}]'
        if not isinstance(entry, dict):
            raise ConfigError(f'{where} must be a mapping')
        unknown = set(entry) - NODE_KEYS
        if unknown:
            raise ConfigError(f'{where}: unknown keys {sorted(unknown)} '
                              f'(known: {", ".join(sorted(NODE_KEYS))})')
        task = entry.get('task')
        if task not in TASK_NODES:
            raise ConfigError(f'{where}: task {task!r} is not one of '
                              f'{", ".join(TASK_NODES)}')
        node = {'task': task, 'name': str(entry.get('name') or TASK_NODES[task].name),
                'namespace': str(entry.get('namespace') or ''),
                'parameters': entry.get('parameters') or {},
                'remappings': entry.get('remappings') or {}}
        for key in ('parameters', 'remappings'):
            if not isinstance(node[key], dict):
                raise ConfigError(f'{where}: {key} must be a mapping')
        model = node['parameters'].get('model')
        if isinstance(model, str) and model and not os.path.isabs(model) \
                and '://' not in model:
            # relative to the config file, so a config and its models can travel together
            node['parameters'] = dict(node['parameters'], model=os.path.normpath(
                os.path.join(os.path.dirname(os.path.abspath(path)), model)))
        full = f'{node["namespace"].rstrip("/")}/{node["name"]}'
        if full in seen:
            raise ConfigError(f'{where}: two nodes are named {full}: give one a name or '
                              'namespace of its own')
        seen.add(full)
        # Output topics are relative to the namespace (label_info, perception_targets, and
        # detections for detect/segment/pose): two nodes in one namespace would mix them.
        namespace = node['namespace'].rstrip('/') or '/'
        if namespace in namespaces:
            raise ConfigError(f'{where} ({task}) shares namespace {namespace} with '
                              f'{namespaces[namespace]}: both would publish '
                              f'{namespace.rstrip("/")}/label_info (and detections): give each '
                              'node a namespace of its own')
        namespaces[namespace] = f'nodes[{len(nodes)}] ({task})'
        nodes.append(node)
    return {'threads': threads, 'nodes': nodes}


class _Shared:
    """One shared image subscription and the nodes it feeds."""

    def __init__(self, compressed: bool):
        self.compressed = compressed
        self.consumers = []
        self.subscription = None
        self.frames = 0


class FrameHub:
    """
    The process's image subscriptions: one per (topic, transport, QoS), fanned out to nodes.

    A node calls ``attach(node, topic, compressed, qos_name)`` with its resolved topic; every
    message then reaches each attached node's ``accept_frame`` (or the ``deliver`` callback
    given) as the same SharedFrame. The shared subscription takes the container node's
    ``qos_overrides./<topic>.subscription.<policy>`` parameters.
    """

    def __init__(self, node: Node):
        self._node = node
        self._lock = threading.Lock()
        self._shared: Dict[tuple, _Shared] = {}

    def attach(self, consumer, topic: str, compressed: bool, qos_name: str,
               deliver=None, on_qos=None) -> None:
        """
        Feed ``consumer`` the frames of ``topic`` (subscribing on first use).

        ``deliver(frame)`` (default ``consumer.accept_frame``) takes each frame and
        ``on_qos(event)`` (default ``consumer.on_incompatible_qos``) the QoS events.
        """
        key = (topic, bool(compressed), qos_name)
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                shared = self._shared[key] = _Shared(bool(compressed))
                shared.subscription = self._node.create_subscription(
                    CompressedImage if compressed else Image, topic,
                    lambda msg, s=shared: self._deliver(s, msg), image_qos(qos_name),
                    event_callbacks=SubscriptionEventCallbacks(
                        incompatible_qos=lambda event, s=shared: self._qos_event(s, event)),
                    qos_overriding_options=image_qos_overrides())
            shared.consumers.append((consumer, deliver or consumer.accept_frame,
                                     on_qos or consumer.on_incompatible_qos))

    def detach(self, consumer) -> None:
        """Stop feeding ``consumer``; a subscription nobody uses any more is destroyed."""
        with self._lock:
            for key, shared in list(self._shared.items()):
                shared.consumers = [c for c in shared.consumers if c[0] is not consumer]
                if not shared.consumers:
                    self._node.destroy_subscription(shared.subscription)
                    del self._shared[key]

    def _deliver(self, shared: _Shared, msg) -> None:
        frame = SharedFrame(msg, shared.compressed)
        with self._lock:
            shared.frames += 1
            consumers = list(shared.consumers)
        for _, deliver, _ in consumers:
            deliver(frame)

    @staticmethod
    def _qos_event(shared: _Shared, event) -> None:
        for _, _, on_qos in list(shared.consumers):
            on_qos(event)

    def frames(self) -> Dict[str, int]:
        """Return the frames received so far per shared subscription's topic."""
        with self._lock:
            return {key[0]: shared.frames for key, shared in self._shared.items()}

    def subscriptions(self) -> int:
        """Return how many image subscriptions the process has."""
        with self._lock:
            return len(self._shared)


class Container:
    """
    The nodes of one container config, sharing a FrameHub; add ``nodes`` to an executor.

    node_kwargs (e.g. ``context``) go to every node. The container drives the nodes'
    lifecycle: each is created unconfigured, then configured and activated in config order
    (a node whose entry sets ``autostart: false`` is left unconfigured, for a lifecycle
    manager). A node that cannot start raises StartupError naming it; the nodes made before
    it are closed.
    """

    def __init__(self, config: dict, name: str = CONTAINER_NAME, **node_kwargs):
        self.hub_node = Node(name, **node_kwargs)
        self.hub = FrameHub(self.hub_node)
        self.perception_nodes: List[Node] = []
        self.threads: Optional[int] = config.get('threads')
        try:
            for entry in config['nodes']:
                self.perception_nodes.append(self._make(entry, node_kwargs))
        except StartupError as exc:
            self.close()
            raise StartupError(f'{entry["namespace"].rstrip("/")}/{entry["name"]}: '
                               f'{exc}') from None

    def _make(self, entry, node_kwargs):
        parameters = dict(entry['parameters'])
        autostart = parameters.pop('autostart', True)
        overrides = [Parameter(str(k), value=v) for k, v in parameters.items()]
        overrides.append(Parameter('autostart', value=False))     # the container drives it
        cli = ['--ros-args']
        for source, target in entry['remappings'].items():
            cli += ['-r', f'{source}:={target}']
        node = node_class(entry['task'])(
            entry['name'], frame_source=self.hub, namespace=entry['namespace'] or None,
            parameter_overrides=overrides, cli_args=cli if len(cli) > 1 else None,
            **node_kwargs)
        if autostart:
            start(node)
        return node

    @property
    def nodes(self) -> List[Node]:
        """Return every node of the process: the container's own, then the perception nodes."""
        return [self.hub_node] + self.perception_nodes

    def close(self) -> None:
        """Stop and destroy every node."""
        for node in reversed(self.perception_nodes):
            node.close()
            node.destroy_node()
        self.perception_nodes = []
        self.hub_node.destroy_node()


def start(node) -> None:
    """Configure and activate ``node``; StartupError (the node logged why) when one fails."""
    from rclpy.lifecycle import TransitionCallbackReturn
    for transition in (node.trigger_configure, node.trigger_activate):
        if transition() != TransitionCallbackReturn.SUCCESS:
            reason = node._failure or f'{transition.__name__} failed'
            node.close()
            node.destroy_node()
            raise StartupError(reason)


def main(args=None) -> int:
    """Run the nodes of a container config until Ctrl-C; 1 when one cannot start."""
    import rclpy
    from rclpy.utilities import remove_ros_args
    argv = remove_ros_args(sys.argv if args is None else args)
    if len(argv) != 2:
        print('usage: perception_container <config.yaml> [--ros-args ...]', file=sys.stderr)
        return 2
    try:
        config = load_config(os.path.expanduser(argv[1]))
    except ConfigError as exc:
        print(f'perception_container: {exc}', file=sys.stderr)
        return 2
    rclpy.init(args=args)
    container = None
    try:
        container = Container(config)
        executor = MultiThreadedExecutor(
            num_threads=container.threads or len(container.nodes) + 1)
        for node in container.nodes:
            executor.add_node(node)
        container.hub_node.get_logger().info(
            f'{len(container.perception_nodes)} node(s): '
            f'{", ".join(n.get_fully_qualified_name() for n in container.perception_nodes)}; '
            f'{container.hub.subscriptions()} shared image subscription(s)')
        executor.spin()
    except StartupError:
        return 1                        # the failing node logged the reason
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if container is not None:
            container.close()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
