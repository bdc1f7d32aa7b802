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
Seeded random-weight ultralytics checkpoints (.pt) built from the model yamls ultralytics ships.

No download: ``yolov8n.yaml``, ``yolov8n-seg.yaml``, ``yolov8n-pose.yaml`` and
``yolov8n-cls.yaml`` are inside the ultralytics package. A freshly initialised network's head
outputs are all close to 0 (every score 0.5, every mask logit 0), so the last convolution of
each head branch (and of the mask prototypes, and the classifier's linear layer) is rescaled
on a calibration picture to give outputs of a chosen mean and spread: class scores then differ
clearly from cell to cell, and a threshold picked from them (``gap_threshold``) keeps a handful
of well-separated detections.
"""

from edge_perception.tools.export import offline_ultralytics
import numpy as np

CONFIGS = {'detect': 'yolov8n.yaml', 'segment': 'yolov8n-seg.yaml',
           'pose': 'yolov8n-pose.yaml', 'classify': 'yolov8n-cls.yaml'}


def _targets(head, task: str):
    """(layer, mean, std) of each layer whose outputs are rescaled."""
    if task == 'classify':
        return [(head.linear, 0.0, 2.0)]
    layers = [(b[-1], -2.0, 2.0) for b in head.cv3] + [(b[-1], 0.0, 1.5) for b in head.cv2]
    if task == 'segment':
        layers += [(b[-1], 0.0, 1.0) for b in head.cv4] + [(head.proto.cv3.conv, 0.0, 2.0)]
    if task == 'pose':
        layers += [(b[-1], 0.0, 0.5) for b in head.cv4]
    return layers


def _rescale(torch, model, task: str, calibration: np.ndarray) -> None:
    """Rescale the head layers so their outputs on ``calibration`` have the target mean/std."""
    targets = _targets(model.model[-1], task)
    inputs = {}
    hooks = [layer.register_forward_hook(
        lambda module, args, output: inputs.setdefault(id(module), output.detach()))
        for layer, _, _ in targets]
    with torch.no_grad():
        model(torch.from_numpy(np.ascontiguousarray(calibration, np.float32)))
        for hook in hooks:
            hook.remove()
        for layer, mean, std in targets:
            output = inputs[id(layer)]
            gain = std / max(float(output.std()), 1e-12)
            layer.weight.mul_(gain)
            if layer.bias is not None:      # (the prototype convolution has none: spread only)
                layer.bias.copy_((layer.bias - float(output.mean())) * gain + mean)


def write_random_checkpoint(path, task: str, calibration: np.ndarray, num_classes: int = 3,
                            seed: int = 0, imgsz: int = 320) -> str:
    """
    Write a checkpoint of the task's YOLOv8n with seeded random weights; return its path.

    calibration: a (1, 3, imgsz, imgsz) float32 RGB/255 input for the head rescaling.
    """
    offline_ultralytics()
    import torch
    from ultralytics.nn import tasks

    torch.manual_seed(seed)
    kind = {'detect': tasks.DetectionModel, 'segment': tasks.SegmentationModel,
            'pose': tasks.PoseModel, 'classify': tasks.ClassificationModel}[task]
    model = kind(CONFIGS[task], nc=num_classes, verbose=False)
    model.names = {i: f'class{i}' for i in range(num_classes)}
    model.eval()
    _rescale(torch, model, task, calibration)
    torch.save({'model': model, 'train_args': {'imgsz': imgsz, 'task': task}}, str(path))
    return str(path)


def gap_threshold(scores: np.ndarray, lowest: int = 6, highest: int = 25) -> float:
    """
    Return a confidence threshold between two well-separated best-anchor scores.

    The threshold keeps between ``lowest`` and ``highest`` anchors and sits in the widest gap
    there, so float differences between exports cannot move an anchor across it.
    """
    ordered = np.sort(np.ravel(scores))[::-1]
    gaps = ordered[lowest - 1:highest - 1] - ordered[lowest:highest]
    k = lowest - 1 + int(np.argmax(gaps))
    assert gaps.max() > 1e-4, f'no clear gap among the top scores {ordered[:highest]}'
    return float((ordered[k] + ordered[k + 1]) / 2)
