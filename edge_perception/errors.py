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
"""Exceptions raised by edge_perception, each carrying a message a user can act on."""


class EdgePerceptionError(Exception):
    """Base class of every error this package raises on purpose."""


class ModelLoadError(EdgePerceptionError):
    """A model file or model card is missing, unreadable or inconsistent."""


class BackendUnavailableError(EdgePerceptionError):
    """The runtime package a backend needs is not importable on this machine."""


class LayoutError(EdgePerceptionError):
    """A model's outputs match no known head layout (or an explicit layout does not fit)."""


class ConfigError(EdgePerceptionError, ValueError):
    """An option or parameter value is invalid; the message says which and why."""


class ImageFormatError(EdgePerceptionError):
    """An input frame cannot be turned into an image (bad encoding, size, or data)."""
