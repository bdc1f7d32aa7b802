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
Split a convolution's weights in two so that the BPU's int8 weights carry ~15 bits.

hb_mapper 1.24.3 quantizes every convolution's weights to int8 per output channel (scale =
max |w| / 127; ``InputType1: int16`` is accepted in ``node_info`` and then set back to int8),
and on the RDK X5 fall model those weights, not the activations, keep the box outputs under
the 0.999 cosine bar. ``split_conv_weights`` rewrites ``Conv(x, W, b)`` as
``Add(Conv(x, W_hi, b), Conv(x, W_lo))`` with ``W_hi`` = W rounded to that int8 grid (which the
mapper then quantizes exactly) and ``W_lo = W - W_hi`` (its own, ~254x finer grid). The float
model is unchanged (to float32 rounding); the BPU does twice the convolution work. The new
nodes are named ``<conv>_hi``, ``<conv>_lo``, ``<conv>_add``; ``split_precision`` gives them the
precision the conv had (int16 for all three), for ``rdk_hybrid``'s node settings.
"""

import re
from typing import Dict, Optional, Sequence

import numpy as np

PARTS = ('_hi', '_lo', '_add')


def int8_grid(weights: np.ndarray) -> np.ndarray:
    """Return ``weights`` rounded to the per-output-channel symmetric int8 grid (max/127)."""
    w = np.asarray(weights, np.float64)
    scale = np.abs(w).reshape(w.shape[0], -1).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    shape = (-1,) + (1,) * (w.ndim - 1)
    return np.clip(np.round(w / scale.reshape(shape)), -127, 127) * scale.reshape(shape)


def split_conv_weights(model: str, output: str, pattern: Optional[str] = None,
                       exclude: Sequence[str] = ()) -> list:
    """
    Write ``model`` with the weights of its Conv nodes split in two; return the split nodes.

    pattern: a regular expression the Conv node's name must match (None: every Conv whose
    weights are an initializer). exclude: Conv node names never split (``rdk_hybrid`` leaves
    the head's last convs, whose outputs the BPU keeps in int32, as they are). Names as
    hb_mapper uses them (``<op type>_<index>`` for a node without a name) are kept by naming
    such nodes first.
    """
    import onnx
    from onnx import helper, numpy_helper
    proto = onnx.load(model)
    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    nodes, split = [], []
    for index, node in enumerate(graph.node):
        node.name = node.name or f'{node.op_type}_{index}'
        if node.op_type != 'Conv' or node.input[1] not in initializers or \
                (pattern is not None and not re.search(pattern, node.name)) or \
                node.name in exclude:
            nodes.append(node)
            continue
        weights = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float64)
        high = int8_grid(weights)
        names = [f'{node.name}_{part}_w' for part in ('hi', 'lo')]
        graph.initializer.extend([
            numpy_helper.from_array(high.astype(np.float32), names[0]),
            numpy_helper.from_array((weights - high).astype(np.float32), names[1])])
        out = node.output[0]
        parts = [helper.make_node('Conv', [node.input[0], names[0]] + list(node.input[2:]),
                                  [out + '_hi'], name=node.name + '_hi'),
                 helper.make_node('Conv', [node.input[0], names[1]], [out + '_lo'],
                                  name=node.name + '_lo')]
        for part in parts:
            part.attribute.extend(node.attribute)
        nodes += parts + [helper.make_node('Add', [out + '_hi', out + '_lo'], [out],
                                           name=node.name + '_add')]
        split.append(node.name)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(proto)
    onnx.save(proto, output)
    return split


def split_precision(precision: Dict[str, str], split: list,
                    kind: str = 'int16') -> Dict[str, str]:
    """Return ``precision`` with each split conv replaced by its three nodes (``kind``)."""
    grown = {}
    for node, value in precision.items():
        if node in split:
            grown.update({node + part: kind for part in PARTS})
        else:
            grown[node] = value
    for node in split:
        for part in PARTS:
            grown.setdefault(node + part, kind)
    return grown
