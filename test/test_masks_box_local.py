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
Box-local instance masks against dense references computed on the whole image.

The oracle is ultralytics' recipe done densely with OpenCV, independently of the decoder:
mask logits = coefficients @ prototypes at prototype size, ``cv2.resize`` (bilinear,
half-pixel centres, as torch's ``F.interpolate``) of the whole logit map to input pixels
(predict's default, no letterbox) or to source pixels (a prototype window whose resize lands
on source pixels exactly), ``> 0``, then ultralytics' ``crop_mask`` formula (columns
x1 <= col < x2). Pixels may differ only where the reference logit is within 1e-4 of 0 (float
summation order). The instance-id image is checked against the dense argmax rule, memory
against the boxes' area (``nbytes`` and tracemalloc peaks, never time).
"""

import tracemalloc

import cv2
from edge_perception.decoders.instances import instance_masks
from edge_perception.drawing import annotate, class_color, MASK_ALPHA
from edge_perception.preprocess import letterbox
from edge_perception.results import Detections, InstanceMasks
from edge_perception.ros.messages import instance_id_image
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

INPUT = (640, 640)
PROTO = (160, 160)
EPS = 1e-4


def source_letterbox(src_hw):
    return letterbox(np.zeros(src_hw + (3,), np.uint8), INPUT[1], INPUT[0])[1]


def random_case(n, src_hw, seed, info=None):
    """Smooth random prototypes (1, 32, 160, 160), coefficients and boxes in source pixels."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(32,) + PROTO).astype(np.float32)
    protos = np.stack([cv2.GaussianBlur(p, (0, 0), 2.0) for p in noise])[None] * 4
    coef = rng.normal(size=(n, 32)).astype(np.float32)
    h, w = src_hw
    x1 = rng.uniform(-20, w - 5, n)
    y1 = rng.uniform(-20, h - 5, n)
    x2 = x1 + rng.uniform(0.3, w / 2, n)
    y2 = y1 + rng.uniform(0.3, h / 2, n)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    boxes[:3] = [[0, 0, w, h], [w - 7.5, h - 3.25, w, h], [10.0, 12.0, 10.5, 12.5]][:n]
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
    return protos, coef, boxes.astype(np.float32)


def crop_mask(masks, boxes):
    """ultralytics.utils.ops.crop_mask in numpy: keep columns x1 <= c < x2, rows alike."""
    _, h, w = masks.shape
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    cols = np.arange(w, dtype=np.float32)[None, None, :]
    rows = np.arange(h, dtype=np.float32)[None, :, None]
    return masks & (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)


def dense_logits(protos, coef, info):
    """(N, H, W) float32 logits on the whole source (input when info is None) with OpenCV."""
    m, ph, pw = protos.shape[1:]
    logits = (coef @ protos[0].reshape(m, -1)).reshape(-1, ph, pw)
    if info is None:        # predict's default: F.interpolate of the whole map to the input
        return np.stack([cv2.resize(p, INPUT[::-1], interpolation=cv2.INTER_LINEAR)
                         for p in logits])
    ratio = INPUT[1] / pw / info.scale_x            # source pixels per prototype cell
    assert ratio == round(ratio) and ratio == INPUT[0] / ph / info.scale_y
    r = int(ratio)
    top, left = info.pad_y * ph / INPUT[0], info.pad_x * pw / INPUT[1]
    assert top == int(top) and left == int(left)
    rows, cols = info.src_height // r, info.src_width // r
    assert (rows * r, cols * r) == (info.src_height, info.src_width)
    out = []
    for p in logits:
        # one cell of margin (the padding's cells; replicated at the prototype border)
        # so that resizing the window lands cell centres where the letterbox puts them
        edge = cv2.copyMakeBorder(p, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        window = edge[int(top):int(top) + rows + 2, int(left):int(left) + cols + 2]
        big = cv2.resize(window, ((cols + 2) * r, (rows + 2) * r),
                         interpolation=cv2.INTER_LINEAR)
        out.append(big[r:r + info.src_height, r:r + info.src_width])
    return np.stack(out)


def assert_equal_but_near_zero(ours: InstanceMasks, logits, boxes):
    reference = crop_mask(logits > 0, boxes)
    dense = ours.dense()
    assert dense.shape == reference.shape
    differ = dense != reference
    assert (np.abs(logits[differ]) < EPS).all(), np.abs(logits[differ]).max()
    assert differ.sum() <= max(2, reference.size // 100000)
    assert reference.any() and not reference.all()     # the case is not trivial


@pytest.mark.parametrize('src_hw', [None, (480, 640), (720, 1280), (1080, 1920)])
@pytest.mark.parametrize('form', ['nchw', 'nhwc', 'int8'])
def test_box_local_masks_equal_the_dense_reference(src_hw, form):
    info = None if src_hw is None else source_letterbox(src_hw)
    protos, coef, boxes = random_case(25, src_hw or INPUT, seed=3)
    if form == 'int8':
        tensor = QuantizedTensor(np.clip(np.round(protos / 0.05) + 3, -128, 127)
                                 .astype(np.int8), 0.05, 3)
        protos = tensor.dequantize()
    elif form == 'nhwc':
        tensor = np.ascontiguousarray(protos.transpose(0, 2, 3, 1))
    else:
        tensor = protos
    ours = instance_masks(coef, tensor, form == 'nhwc', boxes, INPUT, info)
    assert isinstance(ours, InstanceMasks) and len(ours) == len(boxes)
    assert_equal_but_near_zero(ours, dense_logits(protos, coef, info), boxes)


def test_regions_are_the_boxes_pixels_as_crop_mask_keeps_them():
    info = source_letterbox((720, 1280))
    protos, coef, boxes = random_case(40, (720, 1280), seed=5)
    masks = instance_masks(coef, protos, False, boxes, INPUT, info)
    for (x0, y0, x1, y1), box in zip(masks.regions, boxes):
        full = crop_mask(np.ones((1, 720, 1280), bool), box[None])[0]
        rows, cols = np.nonzero(full)
        if len(rows):
            assert (x0, y0, x1, y1) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        else:
            assert (x1 - x0) * (y1 - y0) == 0


def dense_id_image(dense):
    """Apply the former rule: argmax over instances, + 1, 0 where none is set."""
    n = len(dense)
    dtype = np.uint8 if n <= 255 else np.uint16
    ids = dense.argmax(axis=0).astype(dtype) + 1
    ids[~dense.any(axis=0)] = 0
    return ids.astype(dtype)


@pytest.mark.parametrize('n', [1, 7, 255, 256, 300])
def test_id_image_is_the_dense_argmax_rule(n):
    info = source_letterbox((480, 640))
    protos, coef, boxes = random_case(n, (480, 640), seed=n)
    masks = instance_masks(coef, protos, False, boxes, INPUT, info)
    dense = masks.dense()
    assert dense.sum(axis=0).max() >= min(n, 2)            # masks do overlap
    expected = dense_id_image(dense)
    ids = instance_id_image(masks, 480, 640)
    assert ids.dtype == expected.dtype == (np.uint8 if n <= 255 else np.uint16)
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(instance_id_image(dense, 480, 640), expected)


def test_id_image_of_nothing_and_of_the_wrong_size():
    assert not instance_id_image(None, 4, 5).any()
    assert instance_id_image(InstanceMasks.empty(4, 5), 4, 5).dtype == np.uint8
    masks = InstanceMasks.from_dense(np.ones((2, 4, 5), bool))
    with pytest.raises(ValueError, match='source resolution'):
        instance_id_image(masks, 8, 5)


def test_memory_is_bounded_by_the_boxes_area_300_detections_at_1080p():
    src_hw = (1080, 1920)
    info = source_letterbox(src_hw)
    rng = np.random.default_rng(0)
    protos, coef, _ = random_case(300, src_hw, seed=1)
    x1, y1 = rng.uniform(0, 1800, 300), rng.uniform(0, 980, 300)
    sizes = rng.uniform(8, 300, (300, 2))
    boxes = np.stack([x1, y1, np.minimum(x1 + sizes[:, 0], 1920),
                      np.minimum(y1 + sizes[:, 1], 1080)], axis=1).astype(np.float32)
    area = int(((np.ceil(boxes[:, 2]) - np.ceil(boxes[:, 0]))
                * (np.ceil(boxes[:, 3]) - np.ceil(boxes[:, 1]))).sum())
    largest = int((np.ceil(sizes) + 1).prod(axis=1).max())
    dense_bytes = 300 * 1920 * 1080                 # 622 MB as the (N, H, W) bool stack
    tracemalloc.start()
    try:
        masks = instance_masks(coef, protos, False, boxes, INPUT, info)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        ids = masks.id_image()
        _, id_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(masks) == 300 and ids.dtype == np.uint16
    assert masks.nbytes <= area + 16 * 300
    assert masks.nbytes < dense_bytes / 20
    # the decoder's temporaries: a few float32 maps of one box at a time, never N x H x W
    assert peak <= masks.nbytes + 16 * largest + (1 << 20), (peak, masks.nbytes)
    assert id_peak <= ids.nbytes + masks.nbytes + (1 << 20), id_peak


def test_indexing_is_consistent_with_detections():
    info = source_letterbox((480, 640))
    protos, coef, boxes = random_case(6, (480, 640), seed=9)
    masks = instance_masks(coef, protos, False, boxes, INPUT, info)
    dense = masks.dense()
    det = Detections(boxes, np.linspace(0.9, 0.4, 6), np.arange(6), masks=masks)
    for index in ([4, 0, 2], slice(1, 5, 2), np.array([True, False, True, True, False, True]),
                  np.array([5, -1])):
        picked = det[index]
        assert isinstance(picked.masks, InstanceMasks)
        np.testing.assert_array_equal(picked.masks.dense(), dense[index])
        np.testing.assert_array_equal(picked.xyxy, det.xyxy[index])
    np.testing.assert_array_equal(det[3].masks.dense(), dense[3:4])
    np.testing.assert_array_equal(masks[-2], dense[-2])
    np.testing.assert_array_equal(masks[2, 100:200, 50:], dense[2, 100:200, 50:])
    np.testing.assert_array_equal(np.asarray(masks), dense)
    assert masks.shape == dense.shape and masks.dtype == dense.dtype and len(masks) == 6
    assert (masks == dense).all() and not (masks != dense).any()
    assert [m.sum() for m in masks] == list(dense.sum(axis=(1, 2))) == list(masks.area)
    assert masks.any() and not InstanceMasks.empty(3, 4).any()
    with pytest.raises(IndexError):
        masks[6]


def test_dense_arrays_given_to_detections_become_instance_masks():
    dense = np.zeros((3, 20, 30), bool)
    dense[0, 2:5, 3:9] = True
    dense[0, 7, 20] = True
    dense[2, 19, 29] = True
    det = Detections(np.zeros((3, 4)), np.ones(3), np.zeros(3), masks=dense)
    assert isinstance(det.masks, InstanceMasks)
    np.testing.assert_array_equal(det.masks.dense(), dense)
    np.testing.assert_array_equal(det.masks.regions, [[3, 2, 21, 8], [0, 0, 0, 0],
                                                      [29, 19, 30, 20]])
    assert det.masks.nbytes == 6 * 18 + 0 + 1 + det.masks.x0.nbytes * 2
    with pytest.raises(AttributeError, match=r'masks\.dense\(\)\.sum'):
        det.masks.sum()
    with pytest.raises(ValueError, match='rows'):
        Detections(np.zeros((2, 4)), np.ones(2), np.zeros(2), masks=dense)
    with pytest.raises(ValueError, match='not a 2-D region'):
        InstanceMasks([25], [0], [np.ones((3, 6), bool)], 20, 30)


def test_drawing_blends_the_box_local_masks_as_the_dense_ones():
    info = source_letterbox((480, 640))
    protos, coef, boxes = random_case(8, (480, 640), seed=4)
    masks = instance_masks(coef, protos, False, boxes, INPUT, info)
    image = np.random.default_rng(2).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    det = Detections(boxes, np.linspace(0.9, 0.3, 8), np.arange(8) % 3, masks=masks)
    # reference: every dense mask blended in turn over the whole image, then boxes and labels
    expected = image.copy()
    for mask, cid in zip(masks.dense(), det.class_id):
        tint = tuple(MASK_ALPHA * c for c in class_color(int(cid))) + (0.0,)
        blended = cv2.add(cv2.addWeighted(expected, 1 - MASK_ALPHA, expected, 0.0, 0.0), tint)
        expected[mask] = blended[mask]
    boxes_only = Detections(det.xyxy, det.confidence, det.class_id)
    expected = annotate(expected, boxes_only)
    np.testing.assert_array_equal(annotate(image, det), expected)
    assert (annotate(image, boxes_only) != expected).any()
