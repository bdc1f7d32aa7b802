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
Pre-processing driven by the model's input spec, with the exact inverse transform.

Letterbox or stretch, colour order, normalisation, NCHW/NHWC, float/uint8: all read from an
InputSpec, and the Letterbox returned maps outputs back to source pixels. NV12 (the D-Robotics
BPU input) is one more colour: a flat uint8 Y plane followed by interleaved U/V, and NV12 camera
frames (``Nv12Frame``) pass straight through when they already have the network's size.
``preprocess`` resizes the source once, straight into the tensor (``fused_preprocess``); YUV
camera frames (``yuv_frames``) are converted only as far as the result stays bit for bit that
of converting the whole frame first.
"""

from dataclasses import dataclass
import functools
from typing import Sequence, Tuple

import cv2
import numpy as np

from .fused_preprocess import letterbox_tensor
# the YUV frames and the vendor's BGR -> NV12 live in yuv_frames; their home used to be here
from .yuv_crop import center_crop_frame
from .yuv_frames import bgr_to_nv12, check_nv12_size, Nv12Frame, Yuv422Frame, YuvFrame
from .yuv_range import bgr_to_nv12_in, check_yuv_range

__all__ = ['InputSpec', 'Letterbox', 'letterbox', 'letterbox_geometry', 'center_crop',
           'to_tensor', 'as_bgr', 'preprocess', 'value_tables', 'tuple3', 'bgr_to_nv12',
           'check_nv12_size', 'Nv12Frame', 'Yuv422Frame', 'YuvFrame']

LAYOUTS = ('nchw', 'nhwc')
DTYPES = ('float32', 'float16', 'uint8')
COLORS = ('rgb', 'bgr', 'nv12')
RESIZE_MODES = ('letterbox', 'stretch', 'center_crop')
# Card name -> OpenCV flag. 'linear' is what ultralytics' predict (LetterBox) and both vendors'
# demos use, so it is the default: a model then sees the pixels it was validated on.
INTERPOLATIONS = {'linear': cv2.INTER_LINEAR, 'area': cv2.INTER_AREA,
                  'nearest': cv2.INTER_NEAREST}


@dataclass(frozen=True)
class InputSpec:
    """
    What the network wants as input.

    mean/std are per channel in the model's colour order, in 0-255 pixel units; they are ignored
    for uint8 inputs (NPU models carry their normalisation inside, e.g. RKNN mean 0 std 255).
    color 'nv12': the tensor is the flat uint8 NV12 buffer (H*W*3/2 bytes), as the D-Robotics
    runtimes take it; it needs dtype uint8 and an even width and height.
    interpolation: how every resize of the source is done (INTERPOLATIONS): 'linear' (default,
    ultralytics' and the vendors'), 'area' or 'nearest'.
    yuv_range: the BT.601 range of an NV12 input (``yuv_range.YUV_RANGES``): 'video' (OpenCV's,
    the default) or 'full' (what an RDK model built with hb_mapper's default decodes).
    """

    height: int = 640
    width: int = 640
    layout: str = 'nchw'
    dtype: str = 'float32'
    color: str = 'rgb'
    mean: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: Tuple[float, float, float] = (255.0, 255.0, 255.0)
    resize: str = 'letterbox'
    pad_value: int = 114
    interpolation: str = 'linear'
    yuv_range: str = 'video'

    def __post_init__(self):
        checks = (('layout', LAYOUTS), ('dtype', DTYPES), ('color', COLORS),
                  ('resize', RESIZE_MODES), ('interpolation', tuple(INTERPOLATIONS)))
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f'input {name} {getattr(self, name)!r} is not one of {allowed}')
        if self.height <= 0 or self.width <= 0:
            raise ValueError(f'input size {self.width}x{self.height} must be positive')
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f'mean {self.mean} and std {self.std} need 3 values, std > 0')
        if not 0 <= self.pad_value <= 255:
            raise ValueError(f'pad_value {self.pad_value} must be within 0..255')
        check_yuv_range(self.yuv_range)
        if self.color == 'nv12':
            if self.dtype != 'uint8':
                raise ValueError(f'input color nv12 needs dtype uint8, not {self.dtype}')
            check_nv12_size(self.width, self.height)

    @property
    def shape(self) -> Tuple[int, int, int, int]:
        """Batch-1 tensor shape in this spec's layout (NV12: the flat buffer's length)."""
        if self.color == 'nv12':
            return (self.height * self.width * 3 // 2,)
        if self.layout == 'nchw':
            return (1, 3, self.height, self.width)
        return (1, self.height, self.width, 3)


@dataclass(frozen=True)
class Letterbox:
    """
    The geometric transform from a source image to the network input, and its inverse.

    input = source * scale + pad, per axis (scale_x differs from scale_y when stretching and,
    by the rounding of the resized size, very slightly when letterboxing). A centre crop has
    negative pads: the source was scaled to cover the input and its overhang cut off.
    """

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    src_width: int
    src_height: int

    def boxes_to_source(self, xyxy: np.ndarray) -> np.ndarray:
        """Map (N, 4) input-pixel boxes to source pixels, clipped to the image."""
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, 0::2] = (xyxy[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (xyxy[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.src_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.src_height, out=out[:, 1::2])
        return out

    def points_to_source(self, xy: np.ndarray) -> np.ndarray:
        """Map (..., 2) input-pixel points to source pixels (not clipped)."""
        out = np.asarray(xy, dtype=np.float32).copy()
        out[..., 0] = (out[..., 0] - self.pad_x) / self.scale_x
        out[..., 1] = (out[..., 1] - self.pad_y) / self.scale_y
        return out

    def points_to_input(self, xy: np.ndarray) -> np.ndarray:
        """Map (..., 2) source-pixel points to network-input pixels (the forward transform)."""
        out = np.asarray(xy, dtype=np.float32).copy()
        out[..., 0] = out[..., 0] * self.scale_x + self.pad_x
        out[..., 1] = out[..., 1] * self.scale_y + self.pad_y
        return out


def _cv2_interpolation(name: str) -> int:
    if name not in INTERPOLATIONS:
        raise ValueError(f'interpolation {name!r} is not one of {tuple(INTERPOLATIONS)}')
    return INTERPOLATIONS[name]


def center_crop(image: np.ndarray, width: int, height: int,
                interpolation: str = 'linear') -> Tuple[np.ndarray, Letterbox]:
    """
    Scale ``image`` to cover width x height (shorter side fits), then cut out the centre.

    image: a BGR array, or a YuvFrame (``yuv_crop``: only the window is converted when nothing
    is resized), the same bytes as cropping ``image.to_bgr()``.
    """
    interp = _cv2_interpolation(interpolation)
    yuv = isinstance(image, YuvFrame)
    src_h, src_w = (image.height, image.width) if yuv else image.shape[:2]
    if src_h == 0 or src_w == 0:
        raise ValueError('cannot crop an empty image')
    ratio = max(width / src_w, height / src_h)
    new_w = max(width, int(round(src_w * ratio)))
    new_h = max(height, int(round(src_h * ratio)))
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    box = Letterbox(new_w / src_w, new_h / src_h, -x0, -y0, src_w, src_h)
    if yuv:
        return center_crop_frame(image, (new_w, new_h), (x0, y0, width, height), interp), box
    if (new_w, new_h) != (src_w, src_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    return np.ascontiguousarray(image[y0:y0 + height, x0:x0 + width]), box


def letterbox_geometry(src_w: int, src_h: int, width: int, height: int,
                       keep_ratio: bool = True) -> Tuple[int, int, int, int]:
    """
    Return (new_w, new_h, pad_x, pad_y): the resized content's size and its top-left corner.

    ultralytics' LetterBox (see ``letterbox``) when keeping the ratio; the whole input otherwise.
    """
    if src_h == 0 or src_w == 0:
        raise ValueError('cannot letterbox an empty image')
    if keep_ratio:
        ratio = min(width / src_w, height / src_h)
        new_w = max(1, min(width, int(round(src_w * ratio))))
        new_h = max(1, min(height, int(round(src_h * ratio))))
    else:
        new_w, new_h = width, height
    return new_w, new_h, (width - new_w) // 2, (height - new_h) // 2


def letterbox(image: np.ndarray, width: int, height: int, pad_value: int = 114,
              keep_ratio: bool = True,
              interpolation: str = 'linear') -> Tuple[np.ndarray, Letterbox]:
    """
    Resize ``image`` (H, W, C) into width x height, centred and padded when keeping ratio.

    The geometry is ultralytics' LetterBox (predict, fixed input size): ratio = min of the two,
    resized sides round(side * ratio) (at least 1), padding split as round(d/2 - 0.1) before
    and round(d/2 + 0.1) after, which is d // 2 before. interpolation: a key of INTERPOLATIONS
    ('linear', as ultralytics and the vendors' demos resize, whether shrinking or enlarging).
    """
    interp = _cv2_interpolation(interpolation)
    src_h, src_w = image.shape[:2]
    new_w, new_h, pad_x, pad_y = letterbox_geometry(src_w, src_h, width, height, keep_ratio)
    if (new_w, new_h) != (src_w, src_h):
        resized = cv2.resize(image, (new_w, new_h), interpolation=interp)
    else:
        resized = image
    if (new_w, new_h) != (width, height):
        value = (pad_value,) * (image.shape[2] if image.ndim == 3 else 1)
        resized = cv2.copyMakeBorder(resized, pad_y, height - new_h - pad_y, pad_x,
                                     width - new_w - pad_x, cv2.BORDER_CONSTANT, value=value)
    info = Letterbox(new_w / src_w, new_h / src_h, pad_x, pad_y, src_w, src_h)
    return resized, info


def to_tensor(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Turn an input-sized 3-channel image in the spec's colour order into the input tensor."""
    if spec.dtype == 'uint8':
        tensor = image[None]
        if spec.layout == 'nchw':
            tensor = tensor.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(tensor)
    mean, std = spec.mean, spec.std
    if spec.layout == 'nchw' and len(set(mean)) == 1 and len(set(std)) == 1:
        # cv2.dnn.blobFromImage does (x - mean) * scale and HWC->NCHW in one C++ pass.
        tensor = cv2.dnn.blobFromImage(image, 1.0 / std[0], mean=(mean[0],) * 3, swapRB=False)
    else:
        tensor = (image.astype(np.float32) - np.asarray(mean, np.float32)) \
            * (1.0 / np.asarray(std, np.float32))
        tensor = tensor[None].transpose(0, 3, 1, 2) if spec.layout == 'nchw' else tensor[None]
    dtype = np.float16 if spec.dtype == 'float16' else np.float32
    return np.ascontiguousarray(tensor, dtype=dtype)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA uint8 images; return BGR."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError('image must be a uint8 numpy array (BGR as OpenCV gives it)')
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ValueError(f'image shape {image.shape} is not (H, W[, 1|3|4])')


def preprocess(image_bgr, spec: InputSpec) -> Tuple[np.ndarray, Letterbox]:
    """
    Source image -> (input tensor, transform to map outputs back).

    image_bgr: a BGR (or gray/BGRA) uint8 image, or a YuvFrame (Nv12Frame, Yuv422Frame). An
    Nv12Frame of exactly the input size goes to an NV12 model as it is (no conversion, no
    copy); one of another size is decoded in the model's ``yuv_range`` unless the frame states
    its own (``Nv12Frame.yuv_range``). Everything else is resized once, straight into the
    tensor's layout (``fused_preprocess``): the same numbers as converting a YUV frame to BGR,
    letterboxing (``letterbox``) and then ``to_tensor``, bit for bit.
    """
    if isinstance(image_bgr, Nv12Frame) and spec.color == 'nv12':
        # a camera's NV12 is taken to be in the range the model decodes (a frame of the input
        # size reaches it unconverted), so a frame of another size is decoded in that range
        frame = image_bgr = image_bgr.in_range(spec.yuv_range)
        if (frame.width, frame.height) == (spec.width, spec.height) \
                and (frame.yuv_range or 'video') == spec.yuv_range:
            return frame.flat, Letterbox(1.0, 1.0, 0, 0, frame.width, frame.height)
    if spec.resize == 'center_crop':
        image = image_bgr if isinstance(image_bgr, YuvFrame) else as_bgr(image_bgr)
        boxed, info = center_crop(image, spec.width, spec.height, spec.interpolation)
        if spec.color == 'nv12':
            return bgr_to_nv12_in(boxed, spec.yuv_range), info
        if spec.color == 'rgb':
            boxed = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
        return to_tensor(boxed, spec), info
    source = _resizable(image_bgr)
    if isinstance(source, YuvFrame):
        src_w, src_h = source.width, source.height
    else:
        src_h, src_w = source.shape[:2]
    box, info = _letterbox_of(src_w, src_h, spec.width, spec.height, spec.resize == 'letterbox')
    tables = None
    if spec.dtype != 'uint8':
        tables = value_tables(spec.layout, tuple(spec.mean), tuple(spec.std))
    tensor = letterbox_tensor(source, spec, box, INTERPOLATIONS[spec.interpolation], tables)
    return tensor, info


@functools.lru_cache(maxsize=64)     # a camera sends one size: ~1.5 us a frame otherwise
def _letterbox_of(src_w: int, src_h: int, width: int, height: int, keep_ratio: bool):
    """Return the content box (x, y, w, h) and the Letterbox (frozen, so it can be shared)."""
    new_w, new_h, pad_x, pad_y = letterbox_geometry(src_w, src_h, width, height, keep_ratio)
    return (pad_x, pad_y, new_w, new_h), Letterbox(new_w / src_w, new_h / src_h, pad_x, pad_y,
                                                   src_w, src_h)


def _resizable(image):
    """Return a YuvFrame, a (H, W) grey or an (H, W, 3) BGR array (what is resized as it is)."""
    if isinstance(image, YuvFrame):
        return image
    if isinstance(image, np.ndarray) and image.dtype == np.uint8:
        if image.ndim == 3 and image.shape[2] == 3:
            return image
        if image.ndim == 2:
            return image
        if image.ndim == 3 and image.shape[2] == 1:
            return image[..., 0]
    return as_bgr(image)


@functools.lru_cache(maxsize=32)
def value_tables(layout: str, mean: Tuple[float, float, float],
                 std: Tuple[float, float, float]) -> np.ndarray:
    """
    Return (3, 256) float32: what ``to_tensor`` makes of each uint8 level, per channel.

    Computed by ``to_tensor`` itself on a ramp of all 256 levels: its arithmetic is per value,
    so looking a pixel up here gives exactly what converting the whole image gives.
    """
    ramp = np.repeat(np.arange(256, dtype=np.uint8).reshape(1, 256, 1), 3, axis=2)
    spec = InputSpec(height=1, width=256, layout=layout, dtype='float32', color='bgr',
                     mean=mean, std=std)
    tensor = to_tensor(ramp, spec)
    tables = tensor[0, :, 0, :] if layout == 'nchw' else tensor[0, 0].T
    tables = np.ascontiguousarray(tables, dtype=np.float32)
    tables.flags.writeable = False
    return tables


def tuple3(values: Sequence[float], name: str) -> Tuple[float, float, float]:
    """Read a mean/std value from a model card: one number or three."""
    if isinstance(values, (int, float)):
        return (float(values),) * 3
    values = tuple(float(v) for v in values)
    if len(values) == 1:
        return values * 3
    if len(values) != 3:
        raise ValueError(f'{name} needs 1 or 3 values, got {list(values)}')
    return values
