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
Stand-in of ``rknnlite.api.rknn_log`` (compiled in the wheel): the logger the vendor code uses.

Surface as the wheel's ``rknn_log`` shows it (method names ``e``, ``w``, ``i``, ``d``, ``p``;
``set_log_level_and_file_path(verbose, verbose_file)``) and as its x86 twin in rknn-toolkit2
2.5.0 behaves when run: ``e(msg)`` logs and raises ``ValueError(msg)``; ``e(msg, False)`` only
logs and returns None (``rknn_lite.py`` passes False everywhere it means to return -1).
"""

from rknn_standin import board


class RKNNLog:
    """The vendor logger: class-level methods, lines kept on the simulated board."""

    @staticmethod
    def e(msg, abort=True):
        board.BOARD.say('E', str(msg))
        if abort:
            raise ValueError(msg)

    @staticmethod
    def w(msg, show_func=True, highlight=False):
        board.BOARD.say('W', str(msg))

    @staticmethod
    def i(msg):
        board.BOARD.say('I', str(msg))

    @staticmethod
    def d(msg):
        board.BOARD.say('D', str(msg))

    @staticmethod
    def p(msg):
        board.BOARD.say('P', str(msg))


def set_log_level_and_file_path(verbose, verbose_file):
    """Return the logger (the toolkit's returns its logger class too)."""
    return RKNNLog
