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
How a node fails to start, and how it is run: ``StartupError``, ``run``, ``main_for``.

A node that cannot configure or activate (a bad parameter, a model that does not load or runs
another task) logs one error line and its constructor raises ``StartupError``; ``run`` turns
that into exit status 1 without a traceback.
"""

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException

from ..errors import EdgePerceptionError

__all__ = ['main_for', 'run', 'START_ERRORS', 'StartupError', 'transition_reason']

#: Errors of configuration and loading: logged as one line, the transition fails.
START_ERRORS = (EdgePerceptionError, ValueError, ParameterException)


class StartupError(EdgePerceptionError):
    """The node cannot start; the message says why (already logged by the node)."""


def transition_reason(exc: BaseException) -> str:
    """Return the one line a failed transition logs: our errors as they are, others typed."""
    return str(exc) if isinstance(exc, START_ERRORS) else f'{type(exc).__name__}: {exc}'


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
