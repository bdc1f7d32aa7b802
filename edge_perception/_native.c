/*
 * Copyright 2026 edge_perception contributors
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * Compiled inner loops of the detection decoders (per-stride DFL heads, the ultralytics dense
 * head, YOLOv5 anchor heads) and of greedy NMS.
 *
 * Optional: edge_perception/native.py imports this module when it was built and the numpy
 * decoders run otherwise (the same rules; test/test_native_decode.py holds the two together).
 * Why hand-written: after an inference has evicted the caches each numpy call costs 5-30 us,
 * and a frame's decode is ~40 of them (per stride: scan, gather, dequantise; then argmax,
 * sigmoid, DFL, boxes, NMS) around a single pass over the class scores that numpy already does
 * at memory speed. No library offers that fused pass (OpenCV's NMSBoxes is one piece, and
 * needs its own list conversions). Plain CPython API and the buffer protocol: no numpy headers,
 * so it builds wherever the package is installed with a C compiler.
 *
 * The rules are the numpy decoders' (anchor_free.decode_dfl and decode_dense,
 * anchor_based.decode_anchor, nms.greedy_nms), computed in the same float32 steps, so results
 * agree to float rounding (exp and the DFL sums' order).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_I8, K_U8, K_I16, K_I32, K_F32, K_F64 };

typedef struct {
    Py_buffer view;
    int held;
    enum kind kind;
    Py_ssize_t size;    /* elements */
} array_t;

static int kind_of(const char *format, Py_ssize_t itemsize, enum kind *out)
{
    const char *f = format ? format : "B";
    if (*f == '@' || *f == '=' || *f == '<')
        f++;
    if (!f[0] || f[1])
        return -1;
    switch (f[0]) {
    case 'b': *out = K_I8; return itemsize == 1 ? 0 : -1;
    case 'B': *out = K_U8; return itemsize == 1 ? 0 : -1;
    case 'h': *out = K_I16; return itemsize == 2 ? 0 : -1;
    case 'i': case 'l': *out = K_I32; return itemsize == 4 ? 0 : -1;
    case 'f': *out = K_F32; return itemsize == 4 ? 0 : -1;
    case 'd': *out = K_F64; return itemsize == 8 ? 0 : -1;
    default: return -1;
    }
}

static int array_get(PyObject *obj, array_t *a, const char *what)
{
    a->held = 0;
    if (PyObject_GetBuffer(obj, &a->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    a->held = 1;
    if (kind_of(a->view.format, a->view.itemsize, &a->kind) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: unsupported element format '%s'", what,
                     a->view.format ? a->view.format : "B");
        return -1;
    }
    a->size = a->view.len / a->view.itemsize;
    return 0;
}

static void array_release(array_t *a)
{
    if (a->held)
        PyBuffer_Release(&a->view);
    a->held = 0;
}

/* One element as float32, as numpy's astype(np.float32) gives it. */
static inline float load_f(const array_t *a, Py_ssize_t i)
{
    const void *p = a->view.buf;
    switch (a->kind) {
    case K_I8: return (float)((const int8_t *)p)[i];
    case K_U8: return (float)((const uint8_t *)p)[i];
    case K_I16: return (float)((const int16_t *)p)[i];
    case K_I32: return (float)((const int32_t *)p)[i];
    case K_F32: return ((const float *)p)[i];
    default: return (float)((const double *)p)[i];
    }
}

/* One element as a double, exactly (integer thresholds compare exactly). */
static inline double load_d(const array_t *a, Py_ssize_t i)
{
    if (a->kind == K_I32)
        return (double)((const int32_t *)a->view.buf)[i];
    if (a->kind == K_F64)
        return ((const double *)a->view.buf)[i];
    return (double)load_f(a, i);
}

/* A growing list of candidate cells. */
typedef struct {
    Py_ssize_t *cells;
    Py_ssize_t count, capacity;
} cells_t;

static int cells_push(cells_t *c, Py_ssize_t cell)
{
    if (c->count == c->capacity) {
        Py_ssize_t cap = c->capacity ? 2 * c->capacity : 256;
        Py_ssize_t *grown = (Py_ssize_t *)realloc(c->cells, (size_t)cap * sizeof(Py_ssize_t));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        c->cells = grown;
        c->capacity = cap;
    }
    c->cells[c->count++] = cell;
    return 0;
}

/*
 * Cells (ascending) where any of the C channels is >= thr, in the raw domain (integer data:
 * an integer, clamped to the type's range; +inf: none). The data are read as keys KT with
 * the same order (int8 as x ^ 0x80 in uint8: baseline x86-64, SSE2, has a vector maximum of
 * unsigned bytes only). channels_last (cells, C): the tensor is read flat, BLOCK entries at
 * a time, a block skipped when BLOCK_HIT (a vectorised maximum or compare-and-or) finds
 * nothing; (C, cells): a running per-cell maximum over the rows (vectorised), then one
 * comparison per cell. Floats: a comparison with NaN is false, so NaN never passes here; a
 * cell holding one and a passing score is dropped later, as numpy's argmax (which returns
 * the NaN) drops it.
 */
#define BLOCK 256

/* integers: the block's maximum (an exact reduction, vectorised; the loop starts at 0, not
 * 1, so that it is whole vectors) */
#define HIT_BY_MAX(KT, KEY, b, t, hit)                                                     \
    do {                                                                                   \
        KT m_ = KEY((b)[0]);                                                               \
        for (int k_ = 0; k_ < BLOCK; k_++) {                                               \
            KT v_ = KEY((b)[k_]);                                                          \
            m_ = v_ > m_ ? v_ : m_;                                                        \
        }                                                                                  \
        hit = m_ >= (t);                                                                   \
    } while (0)

/* floats: or of the comparisons (a float maximum reduction is not vectorised without
 * -ffast-math; the comparison masks are as wide as the floats) */
#define HIT_BY_COMPARE(KT, KEY, b, t, hit)                                                 \
    do {                                                                                   \
        int any_ = 0;                                                                      \
        for (int k_ = 0; k_ < BLOCK; k_++)                                                 \
            any_ |= KEY((b)[k_]) >= (t);                                                   \
        hit = any_;                                                                        \
    } while (0)

#define SCAN(T, KT, KEY, BLOCK_HIT)                                                        \
    do {                                                                                   \
        const T *d = (const T *)a->view.buf;                                               \
        if (channels_last) {                                                               \
            Py_ssize_t total = n_cells * n_ch, last = -1;                                  \
            for (Py_ssize_t i0 = 0; i0 < total; i0 += BLOCK) {                             \
                Py_ssize_t i1 = total - i0 < BLOCK ? total : i0 + BLOCK;                   \
                if (i1 - i0 == BLOCK) {                                                    \
                    int hit;                                                               \
                    BLOCK_HIT(KT, KEY, d + i0, t, hit);                                    \
                    if (!hit)                                                              \
                        continue;                                                          \
                }                                                                          \
                for (Py_ssize_t i = i0; i < i1; i++)                                       \
                    if (KEY(d[i]) >= t && i / n_ch != last) {                              \
                        last = i / n_ch;                                                   \
                        if (cells_push(out, last) < 0)                                     \
                            return -1;                                                     \
                    }                                                                      \
            }                                                                              \
        } else {                                                                           \
            KT *best = (KT *)malloc((size_t)n_cells * sizeof(KT));                         \
            if (!best) {                                                                   \
                PyErr_NoMemory();                                                          \
                return -1;                                                                 \
            }                                                                              \
            for (Py_ssize_t j = 0; j < n_cells; j++)                                       \
                best[j] = KEY(d[j]);                                                       \
            for (Py_ssize_t k = 1; k < n_ch; k++) {                                        \
                const T *r = d + k * n_cells;                                              \
                for (Py_ssize_t j = 0; j < n_cells; j++) {                                 \
                    KT v = KEY(r[j]);                                                      \
                    best[j] = v > best[j] ? v : best[j];                                   \
                }                                                                          \
            }                                                                              \
            for (Py_ssize_t j = 0; j < n_cells; j++)                                       \
                if (best[j] >= t && cells_push(out, j) < 0) {                              \
                    free(best);                                                            \
                    return -1;                                                             \
                }                                                                          \
            free(best);                                                                    \
        }                                                                                  \
    } while (0)

#define SAME(x) (x)
#define I8_KEY(x) ((uint8_t)((uint8_t)(x) ^ 0x80u))

/* An integer type's threshold: ceil(thr) clamped to [lo, hi]; none if above hi. */
#define INT_THRESHOLD(T, LO, HI)                                                           \
    double c = ceil(thr);                                                                  \
    if (!(c <= (double)(HI)))                                                              \
        return 0;                                                                          \
    T t0 = c < (double)(LO) ? (T)(LO) : (T)c;

static int scan_cells(const array_t *a, int channels_last, Py_ssize_t n_cells, Py_ssize_t n_ch,
                      double thr, cells_t *out)
{
    switch (a->kind) {
    case K_I8: {
        INT_THRESHOLD(int8_t, INT8_MIN, INT8_MAX)
        uint8_t t = I8_KEY(t0);
        SCAN(int8_t, uint8_t, I8_KEY, HIT_BY_MAX);
        break;
    }
    case K_U8: {
        INT_THRESHOLD(uint8_t, 0, UINT8_MAX)
        uint8_t t = t0;
        SCAN(uint8_t, uint8_t, SAME, HIT_BY_MAX);
        break;
    }
    case K_I16: {
        INT_THRESHOLD(int16_t, INT16_MIN, INT16_MAX)
        int16_t t = t0;
        SCAN(int16_t, int16_t, SAME, HIT_BY_MAX);
        break;
    }
    case K_I32: {
        INT_THRESHOLD(int32_t, INT32_MIN, INT32_MAX)
        int32_t t = t0;
        SCAN(int32_t, int32_t, SAME, HIT_BY_MAX);
        break;
    }
    case K_F32: {
        float t = (float)thr;   /* numpy compares float32 data with a Python float in float32 */
        SCAN(float, float, SAME, HIT_BY_COMPARE);
        break;
    }
    default: {
        double t = thr;
        SCAN(double, double, SAME, HIT_BY_COMPARE);
        break;
    }
    }
    return 0;
}

/* Growing float/int output columns of the decoder. */
typedef struct {
    float *xyxy, *score;
    int32_t *class_id;
    Py_ssize_t *anchor;
    Py_ssize_t count, capacity;
} found_t;

static int found_reserve(found_t *f, Py_ssize_t extra)
{
    if (f->count + extra <= f->capacity)
        return 0;
    Py_ssize_t cap = f->capacity ? f->capacity : 64;
    while (cap < f->count + extra)
        cap *= 2;
    float *xyxy = (float *)realloc(f->xyxy, (size_t)cap * 4 * sizeof(float));
    if (xyxy)
        f->xyxy = xyxy;
    float *score = (float *)realloc(f->score, (size_t)cap * sizeof(float));
    if (score)
        f->score = score;
    int32_t *cls = (int32_t *)realloc(f->class_id, (size_t)cap * sizeof(int32_t));
    if (cls)
        f->class_id = cls;
    Py_ssize_t *anchor = (Py_ssize_t *)realloc(f->anchor, (size_t)cap * sizeof(Py_ssize_t));
    if (anchor)
        f->anchor = anchor;
    if (!xyxy || !score || !cls || !anchor) {
        PyErr_NoMemory();
        return -1;
    }
    f->capacity = cap;
    return 0;
}

static void found_free(found_t *f)
{
    free(f->xyxy);
    free(f->score);
    free(f->class_id);
    free(f->anchor);
    memset(f, 0, sizeof(*f));
}

static PyObject *to_bytearray(const void *data, Py_ssize_t bytes)
{
    return PyByteArray_FromStringAndSize(bytes ? (const char *)data : "", bytes);
}

/* The decoders' result: (xyxy, score, class_id, anchor) bytearrays. */
static PyObject *found_result(const found_t *f)
{
    return Py_BuildValue("(NNNN)",
                         to_bytearray(f->xyxy, f->count * 4 * (Py_ssize_t)sizeof(float)),
                         to_bytearray(f->score, f->count * (Py_ssize_t)sizeof(float)),
                         to_bytearray(f->class_id, f->count * (Py_ssize_t)sizeof(int32_t)),
                         to_bytearray(f->anchor, f->count * (Py_ssize_t)sizeof(Py_ssize_t)));
}

typedef struct {
    /* per level, from the Python tuple */
    array_t cls, box, ss, box_scale, box_zero;
    double cls_thr, cls_scale, cls_zero, box_scale1, box_zero1, ss_thr;
    int cls_quant, box_quant, box_per_channel, has_ss, ss_none, channels_last;
    Py_ssize_t n_cells, grid_w, first;
    float stride;
} level_t;

static void level_release(level_t *lv)
{
    array_release(&lv->cls);
    array_release(&lv->box);
    array_release(&lv->ss);
    array_release(&lv->box_scale);
    array_release(&lv->box_zero);
}

/* n elements from start, step apart, as float32 (numpy's astype(np.float32)). */
#define GATHER(T)                                                                          \
    do {                                                                                   \
        const T *p = (const T *)a->view.buf + start;                                       \
        for (Py_ssize_t k = 0; k < n; k++)                                                 \
            out[k] = (float)p[k * step];                                                   \
    } while (0)

static void gather_f(const array_t *a, Py_ssize_t start, Py_ssize_t step, Py_ssize_t n,
                     float *out)
{
    switch (a->kind) {
    case K_I8: GATHER(int8_t); break;
    case K_U8: GATHER(uint8_t); break;
    case K_I16: GATHER(int16_t); break;
    case K_I32: GATHER(int32_t); break;
    case K_F32: GATHER(float); break;
    default: GATHER(double); break;
    }
}

/* The logistic function as the numpy decoders compute it: 1 / (1 + exp(x * -1)), float32. */
static inline float activate(float x) { return 1.0f / (1.0f + expf(x * -1.0f)); }

/* Box codings: DFL bins per side (grid units), four distances (ltrb, grid units), or the
 * ultralytics dense head's cx, cy, w, h in input pixels. */
enum box_coding { BOX_DFL = 0, BOX_LTRB = 1, BOX_CXCYWH = 2 };

/*
 * One candidate cell: its best class (the first maximum of the dequantised scores, numpy's
 * argmax), its probability, and its box if the probability reaches the threshold.
 * ``scratch`` holds n_cls + n_box floats.
 */
static int decode_cell(const level_t *lv, Py_ssize_t cell, Py_ssize_t n_cls, int logit_scores,
                       float threshold, int reg_max, int coding, float *scratch, found_t *f)
{
    Py_ssize_t n_box = coding != BOX_DFL ? 4 : 4 * (Py_ssize_t)reg_max;
    int last = lv->channels_last;
    float *vals = scratch, *bins = scratch + n_cls;
    gather_f(&lv->cls, last ? cell * n_cls : cell, last ? 1 : lv->n_cells, n_cls, vals);
    if (lv->cls_quant) {
        float zero = (float)lv->cls_zero, scale = (float)lv->cls_scale;
        for (Py_ssize_t k = 0; k < n_cls; k++)
            vals[k] = (vals[k] - zero) * scale;
    }
    float best = vals[0];
    int32_t best_k = 0;
    for (Py_ssize_t k = 0; k < n_cls; k++) {
        if (vals[k] != vals[k])
            return 0;               /* NaN: numpy's argmax picks it and the cell fails */
        if (vals[k] > best) {
            best = vals[k];
            best_k = (int32_t)k;
        }
    }
    if (logit_scores)
        best = activate(best);
    if (!(best >= threshold))
        return 0;
    gather_f(&lv->box, last ? cell * n_box : cell, last ? 1 : lv->n_cells, n_box, bins);
    if (lv->box_per_channel) {
        const float *zero = (const float *)lv->box_zero.view.buf;
        const float *scale = (const float *)lv->box_scale.view.buf;
        for (Py_ssize_t k = 0; k < n_box; k++)
            bins[k] = (bins[k] - zero[k]) * scale[k];
    } else if (lv->box_quant) {
        float zero = (float)lv->box_zero1, scale = (float)lv->box_scale1;
        for (Py_ssize_t k = 0; k < n_box; k++)
            bins[k] = (bins[k] - zero) * scale;
    }
    if (found_reserve(f, 1) < 0)
        return -1;
    float *box = f->xyxy + 4 * f->count;
    f->score[f->count] = best;
    f->class_id[f->count] = best_k;
    f->anchor[f->count] = lv->first + cell;
    f->count++;
    if (coding == BOX_CXCYWH) {         /* anchor_free.decode_dense: half = wh / 2 */
        float half_w = bins[2] / 2.0f, half_h = bins[3] / 2.0f;
        box[0] = bins[0] - half_w;
        box[1] = bins[1] - half_h;
        box[2] = bins[0] + half_w;
        box[3] = bins[1] + half_h;
        return 0;
    }
    float dist[4];
    for (int side = 0; side < 4; side++) {
        if (coding == BOX_LTRB) {
            dist[side] = bins[side];
            continue;
        }
        /* softmax expectation over the side's bins, shifted by the side's maximum */
        const float *b = bins + side * reg_max;
        float top = b[0];
        for (int k = 1; k < reg_max; k++)
            top = b[k] > top ? b[k] : top;
        float num = 0.0f, den = 0.0f;
        for (int k = 0; k < reg_max; k++) {
            float e = expf(b[k] - top);
            num += e * (float)k;
            den += e;
        }
        dist[side] = num / den;
    }
    float cx = (float)(cell % lv->grid_w) + 0.5f, cy = (float)(cell / lv->grid_w) + 0.5f;
    box[0] = (cx + dist[0] * -1.0f) * lv->stride;
    box[1] = (cy + dist[1] * -1.0f) * lv->stride;
    box[2] = (cx + dist[2]) * lv->stride;
    box[3] = (cy + dist[3]) * lv->stride;
    return 0;
}

static int level_parse(PyObject *item, level_t *lv)
{
    PyObject *cls, *box, *ss, *box_scale, *box_zero;
    double stride;
    memset(lv, 0, sizeof(*lv));
    if (!PyArg_ParseTuple(item, "OdddpOOOpOdpnnnd", &cls, &lv->cls_thr, &lv->cls_scale,
                          &lv->cls_zero, &lv->cls_quant, &box, &box_scale, &box_zero,
                          &lv->box_quant, &ss, &lv->ss_thr, &lv->channels_last, &lv->n_cells,
                          &lv->grid_w, &lv->first, &stride))
        return -1;
    lv->stride = (float)stride;
    if (array_get(cls, &lv->cls, "cls") < 0 || array_get(box, &lv->box, "box") < 0)
        return -1;
    if (lv->box_quant && PyFloat_Check(box_scale)) {
        lv->box_scale1 = PyFloat_AsDouble(box_scale);
        lv->box_zero1 = PyFloat_AsDouble(box_zero);
    } else if (lv->box_quant) {
        lv->box_per_channel = 1;
        if (array_get(box_scale, &lv->box_scale, "box scale") < 0 ||
            array_get(box_zero, &lv->box_zero, "box zero point") < 0)
            return -1;
        if (lv->box_scale.kind != K_F32 || lv->box_zero.kind != K_F32 ||
            lv->box_scale.size * lv->n_cells != lv->box.size ||
            lv->box_zero.size != lv->box_scale.size) {
            PyErr_SetString(PyExc_ValueError, "per-channel box scale and zero point: float32, "
                            "one per box channel");
            return -1;
        }
    }
    if (ss == Py_False) {
        lv->ss_none = 1;        /* a score_sum no value can pass: no candidates */
    } else if (ss != Py_None) {
        lv->has_ss = 1;
        if (array_get(ss, &lv->ss, "score_sum") < 0)
            return -1;
    }
    if (lv->n_cells <= 0 || lv->grid_w <= 0 || lv->cls.size % lv->n_cells ||
        lv->box.size % lv->n_cells || (lv->has_ss && lv->ss.size != lv->n_cells)) {
        PyErr_SetString(PyExc_ValueError, "tensor sizes do not fit the level's grid");
        return -1;
    }
    return 0;
}

/* Sort order of greedy NMS: score descending, then index (Python's stable sorted). */
static const double *sort_scores;

static int by_score(const void *a, const void *b)
{
    Py_ssize_t i = *(const Py_ssize_t *)a, j = *(const Py_ssize_t *)b;
    double si = sort_scores[i], sj = sort_scores[j];
    if (si != sj)
        return si > sj ? -1 : 1;
    return i < j ? -1 : (i > j);
}

/*
 * nms.greedy_nms's rule (OpenCV NMSBoxes', class by class): scores > 0 only, by score
 * (stable), a box dropped when its overlap with a kept box of its class exceeds iou; an empty
 * box overlaps nothing; two boxes whose areas sum to <= DBL_EPSILON overlap fully. boxes:
 * (n, 4) x1, y1, x2, y2; classes NULL: all one class. Writes the kept indices to keep (n
 * long), returns their count, or -1 (MemoryError set). Called with the GIL held (sort_scores).
 */
static Py_ssize_t nms_core(const double *boxes, const double *scores, const long long *classes,
                           Py_ssize_t n, double iou, Py_ssize_t max_det, Py_ssize_t *keep)
{
    Py_ssize_t *order = (Py_ssize_t *)malloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    double *kept = (double *)malloc((size_t)(n ? n : 1) * 5 * sizeof(double));
    long long *kept_class = (long long *)malloc((size_t)(n ? n : 1) * sizeof(long long));
    Py_ssize_t n_keep = 0, n_kept = 0, m = 0;
    if (!order || !kept || !kept_class) {
        free(order);
        free(kept);
        free(kept_class);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (scores[i] > 0.0)
            order[m++] = i;
    sort_scores = scores;
    qsort(order, (size_t)m, sizeof(Py_ssize_t), by_score);
    double least = INFINITY;
    int full = 1.0 > iou;
    for (Py_ssize_t o = 0; o < m && n_keep < max_det; o++) {
        Py_ssize_t i = order[o];
        const double *b = boxes + 4 * i;
        double x1 = b[0], y1 = b[1], x2 = b[2], y2 = b[3];
        double area = (x2 - x1) * (y2 - y1);
        if (full && area + least <= 2.220446049250313e-16)
            continue;
        long long cls = classes ? classes[i] : 0;
        if (x2 > x1 && y2 > y1) {       /* an empty box overlaps nothing: never compared */
            int dropped = 0;
            for (Py_ssize_t k = 0; k < n_kept && !dropped; k++) {
                if (kept_class[k] != cls)
                    continue;
                const double *a = kept + 5 * k;
                double w = (x2 < a[2] ? x2 : a[2]) - (x1 > a[0] ? x1 : a[0]);
                if (w > 0.0) {
                    double h = (y2 < a[3] ? y2 : a[3]) - (y1 > a[1] ? y1 : a[1]);
                    if (h > 0.0) {
                        double inter = w * h;
                        dropped = inter / (area + a[4] - inter) > iou;
                    }
                }
            }
            if (dropped)
                continue;
            double *a = kept + 5 * n_kept;
            a[0] = x1; a[1] = y1; a[2] = x2; a[3] = y2; a[4] = area;
            kept_class[n_kept++] = cls;
        }
        keep[n_keep++] = i;
        if (area < least)
            least = area;
    }
    free(order);
    free(kept);
    free(kept_class);
    return n_keep;
}

PyDoc_STRVAR(greedy_nms_doc,
"greedy_nms(xyxy, scores, classes or None, iou_threshold, max_detections)\n"
"-> bytearray of intp: nms.greedy_nms's rule (OpenCV NMSBoxes' rule, class by class).");

static PyObject *greedy_nms(PyObject *self, PyObject *args)
{
    PyObject *boxes_obj, *scores_obj, *classes_obj, *result = NULL;
    double iou;
    Py_ssize_t max_det;
    array_t boxes = {0}, scores = {0}, classes = {0};
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOdn", &boxes_obj, &scores_obj, &classes_obj, &iou, &max_det))
        return NULL;
    double *b = NULL, *s = NULL;
    long long *c = NULL;
    Py_ssize_t *keep = NULL;
    if (array_get(boxes_obj, &boxes, "xyxy") < 0 || array_get(scores_obj, &scores, "scores") < 0)
        goto done;
    if (classes_obj != Py_None && array_get(classes_obj, &classes, "classes") < 0)
        goto done;
    Py_ssize_t n = scores.size;
    if (boxes.size != 4 * n || (classes.held && classes.size != n)) {
        PyErr_SetString(PyExc_ValueError, "xyxy must be (n, 4) for n scores and classes");
        goto done;
    }
    size_t room = (size_t)(n ? n : 1);
    b = (double *)malloc(room * 4 * sizeof(double));
    s = (double *)malloc(room * sizeof(double));
    c = (long long *)malloc(room * sizeof(long long));
    keep = (Py_ssize_t *)malloc(room * sizeof(Py_ssize_t));
    if (!b || !s || !c || !keep) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {    /* float32 or float64 -> double: exact */
        for (int k = 0; k < 4; k++)
            b[4 * i + k] = load_d(&boxes, 4 * i + k);
        s[i] = load_d(&scores, i);
        c[i] = classes.held ? (long long)load_d(&classes, i) : 0;
    }
    Py_ssize_t n_keep = nms_core(b, s, classes.held ? c : NULL, n, iou, max_det, keep);
    if (n_keep >= 0)
        result = to_bytearray(keep, n_keep * (Py_ssize_t)sizeof(Py_ssize_t));
done:
    array_release(&boxes);
    array_release(&scores);
    array_release(&classes);
    free(b);
    free(s);
    free(c);
    free(keep);
    return result;
}

/* Keep only found[keep[0..n_keep)], in that order (NMS order). */
static int found_select(found_t *f, const Py_ssize_t *keep, Py_ssize_t n_keep)
{
    found_t out = {0};
    if (found_reserve(&out, n_keep ? n_keep : 1) < 0)
        return -1;
    for (Py_ssize_t k = 0; k < n_keep; k++) {
        Py_ssize_t i = keep[k];
        memcpy(out.xyxy + 4 * k, f->xyxy + 4 * i, 4 * sizeof(float));
        out.score[k] = f->score[i];
        out.class_id[k] = f->class_id[i];
        out.anchor[k] = f->anchor[i];
    }
    out.count = n_keep;
    found_free(f);
    *f = out;
    return 0;
}

/* NMS over the decoder's candidates (float32 boxes and scores, as nms() receives them). */
static int found_nms(found_t *f, double iou, Py_ssize_t max_det, int agnostic)
{
    Py_ssize_t n = f->count;
    size_t room = (size_t)(n ? n : 1);
    double *b = (double *)malloc(room * 4 * sizeof(double));
    double *s = (double *)malloc(room * sizeof(double));
    long long *c = (long long *)malloc(room * sizeof(long long));
    Py_ssize_t *keep = (Py_ssize_t *)malloc(room * sizeof(Py_ssize_t));
    int status = -1;
    if (!b || !s || !c || !keep) {
        PyErr_NoMemory();
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            for (int k = 0; k < 4; k++)
                b[4 * i + k] = (double)f->xyxy[4 * i + k];
            s[i] = (double)f->score[i];
            c[i] = f->class_id[i];
        }
        Py_ssize_t n_keep = nms_core(b, s, agnostic ? NULL : c, n, iou, max_det, keep);
        if (n_keep >= 0)
            status = found_select(f, keep, n_keep);
    }
    free(b);
    free(s);
    free(c);
    free(keep);
    return status;
}

PyDoc_STRVAR(dfl_decode_doc,
"dfl_decode(levels, threshold, logit_scores, reg_max, coding[, iou, max_det, agnostic])\n"
"-> (xyxy, score, class_id, anchor) bytearrays of float32 x4, float32, int32, intp.\n"
"With iou (>= 0): the candidates NMS keeps, in its order (greedy_nms's rule).\n\n"
"levels: per stride (cls, cls_thr, cls_scale, cls_zero, cls_quant, box, box_scale,\n"
"box_zero, box_quant, score_sum or None (False: none passes), ss_thr, channels_last,\n"
"n_cells, grid_w, first_anchor, stride); thresholds in each tensor's raw domain.");

static PyObject *dfl_decode(PyObject *self, PyObject *args)
{
    PyObject *levels, *result = NULL;
    double threshold;
    int logit_scores, coding, reg_max;
    (void)self;
    double iou = -1.0;
    Py_ssize_t max_det = 0;
    int agnostic = 0;
    if (!PyArg_ParseTuple(args, "Odpii|dnp", &levels, &threshold, &logit_scores, &reg_max,
                          &coding, &iou, &max_det, &agnostic))
        return NULL;
    if (coding < BOX_DFL || coding > BOX_CXCYWH) {
        PyErr_SetString(PyExc_ValueError, "coding: 0 DFL, 1 ltrb, 2 cx cy w h");
        return NULL;
    }
    if (coding == BOX_DFL && (reg_max < 1 || reg_max > 64)) {
        PyErr_SetString(PyExc_ValueError, "reg_max must be 1..64");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(levels, "levels must be a sequence");
    if (!seq)
        return NULL;
    found_t found = {0};
    cells_t cells = {0};
    float thr = (float)threshold;       /* numpy: float32 scores >= a Python float */
    Py_ssize_t n_levels = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t l = 0; l < n_levels; l++) {
        level_t lv;
        if (level_parse(PySequence_Fast_GET_ITEM(seq, l), &lv) < 0) {
            level_release(&lv);
            goto done;
        }
        Py_ssize_t n_cls = lv.cls.size / lv.n_cells;
        int ok = 0;
        cells.count = 0;
        if (lv.ss_none) {
            ok = 1;
        } else if (lv.has_ss) {
            /* score_sum >= every class score: a cell below the threshold there holds none
             * (anchor_free.decode_dfl); if it does not filter (> 1/8 of the cells pass), the
             * full scan below */
            for (Py_ssize_t j = 0; j < lv.n_cells; j++) {
                /* float32 data: numpy compares with a Python float in float32 */
                double v = load_d(&lv.ss, j);
                if ((lv.ss.kind == K_F32 ? v >= (double)(float)lv.ss_thr : v >= lv.ss_thr) &&
                    cells_push(&cells, j) < 0) {
                    level_release(&lv);
                    goto done;
                }
            }
            ok = cells.count * 8 <= lv.n_cells;
            if (!ok)
                cells.count = 0;
        }
        if (!ok && scan_cells(&lv.cls, lv.channels_last, lv.n_cells, n_cls, lv.cls_thr,
                              &cells) < 0) {
            level_release(&lv);
            goto done;
        }
        Py_ssize_t n_box = lv.box.size / lv.n_cells;
        if (n_box != (coding != BOX_DFL ? 4 : 4 * (Py_ssize_t)reg_max) || n_cls < 1) {
            PyErr_SetString(PyExc_ValueError, "box channels do not fit reg_max, or no classes");
            level_release(&lv);
            goto done;
        }
        float *scratch = (float *)malloc((size_t)(n_cls + n_box) * sizeof(float));
        if (!scratch) {
            PyErr_NoMemory();
            level_release(&lv);
            goto done;
        }
        for (Py_ssize_t c = 0; c < cells.count; c++)
            if (decode_cell(&lv, cells.cells[c], n_cls, logit_scores, thr, reg_max, coding,
                            scratch, &found) < 0) {
                free(scratch);
                level_release(&lv);
                goto done;
            }
        free(scratch);
        level_release(&lv);
    }
    if (iou >= 0.0 && found_nms(&found, iou, max_det, agnostic) < 0)
        goto done;
    result = found_result(&found);
done:
    Py_DECREF(seq);
    free(cells.cells);
    found_free(&found);
    return result;
}

/*
 * Anchor-based YOLOv5 heads (anchor_based.decode_anchor's rules): per stride (1, A*(5+nc), H, W)
 * or (1, H, W, A*(5+nc)); slot = cell * A + anchor. Objectness (channel 4 of each anchor) is
 * the pre-filter; then per candidate slot: x, y, w, h, objectness and the best class score
 * (activated if logits), score = objectness * class, and the box
 * xy = (2 p - 0.5 + cell) * stride, wh = (2 p)^2 * anchor.
 */
#define OBJ_SCAN(T)                                                                        \
    do {                                                                                   \
        const T *d = (const T *)lv->pred.view.buf;                                         \
        if (lv->channels_last) {                                                           \
            for (Py_ssize_t s = 0; s < n_slots; s++)                                       \
                if (d[s * per + 4] >= t && cells_push(out, s) < 0)                         \
                    return -1;                                                             \
        } else {                                                                           \
            for (Py_ssize_t j = 0; j < lv->n_cells; j++)                                   \
                for (Py_ssize_t a = 0; a < n_anchor; a++)                                  \
                    if (d[(a * per + 4) * lv->n_cells + j] >= t &&                         \
                        cells_push(out, j * n_anchor + a) < 0)                             \
                        return -1;                                                         \
        }                                                                                  \
    } while (0)

typedef struct {
    array_t pred, anchors;
    double thr, scale, zero, stride;
    int quant, channels_last;
    Py_ssize_t n_cells, grid_w, first, n_cls;
} head_t;

static int obj_scan(const head_t *lv, Py_ssize_t n_anchor, Py_ssize_t per, cells_t *out)
{
    Py_ssize_t n_slots = lv->n_cells * n_anchor;
    double thr = lv->thr;
    switch (lv->pred.kind) {
    case K_I8: { INT_THRESHOLD(int8_t, INT8_MIN, INT8_MAX) int8_t t = t0; OBJ_SCAN(int8_t);
        break; }
    case K_U8: { INT_THRESHOLD(uint8_t, 0, UINT8_MAX) uint8_t t = t0; OBJ_SCAN(uint8_t);
        break; }
    case K_I16: { INT_THRESHOLD(int16_t, INT16_MIN, INT16_MAX) int16_t t = t0;
        OBJ_SCAN(int16_t); break; }
    case K_I32: { INT_THRESHOLD(int32_t, INT32_MIN, INT32_MAX) int32_t t = t0;
        OBJ_SCAN(int32_t); break; }
    case K_F32: { float t = (float)thr; OBJ_SCAN(float); break; }
    default: { double t = thr; OBJ_SCAN(double); break; }
    }
    return 0;
}

PyDoc_STRVAR(anchor_decode_doc,
"anchor_decode(levels, threshold, logit_scores[, iou, max_det, agnostic])\n"
"-> (xyxy, score, class_id, slot) bytearrays, as dfl_decode.\n\n"
"levels: per stride (pred, obj_thr, scale, zero, quant, channels_last, n_cells, grid_w,\n"
"first_slot, stride, anchors (float32, w h per anchor), n_classes).");

static PyObject *anchor_decode(PyObject *self, PyObject *args)
{
    PyObject *levels, *result = NULL;
    double threshold, iou = -1.0;
    int logit_scores, agnostic = 0;
    Py_ssize_t max_det = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "Odp|dnp", &levels, &threshold, &logit_scores, &iou, &max_det,
                          &agnostic))
        return NULL;
    PyObject *seq = PySequence_Fast(levels, "levels must be a sequence");
    if (!seq)
        return NULL;
    found_t found = {0};
    cells_t slots = {0};
    float thr = (float)threshold;
    float *vals = NULL;
    for (Py_ssize_t l = 0; l < PySequence_Fast_GET_SIZE(seq); l++) {
        head_t lv;
        PyObject *pred, *anchors;
        memset(&lv, 0, sizeof(lv));
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, l), "OdddppnnndOn", &pred, &lv.thr,
                              &lv.scale, &lv.zero, &lv.quant, &lv.channels_last, &lv.n_cells,
                              &lv.grid_w, &lv.first, &lv.stride, &anchors, &lv.n_cls))
            goto done;
        if (array_get(pred, &lv.pred, "pred") < 0 ||
            array_get(anchors, &lv.anchors, "anchors") < 0) {
            array_release(&lv.pred);
            array_release(&lv.anchors);
            goto done;
        }
        Py_ssize_t n_anchor = lv.anchors.size / 2, per = 5 + lv.n_cls;
        if (lv.anchors.kind != K_F32 || n_anchor < 1 || lv.n_cls < 1 || lv.n_cells <= 0 ||
            lv.grid_w <= 0 || lv.pred.size != lv.n_cells * n_anchor * per) {
            PyErr_SetString(PyExc_ValueError, "pred does not fit cells x anchors x (5 + nc)");
            array_release(&lv.pred);
            array_release(&lv.anchors);
            goto done;
        }
        const float *anchor_wh = (const float *)lv.anchors.view.buf;
        float *grown = (float *)realloc(vals, (size_t)per * sizeof(float));
        if (!grown) {
            PyErr_NoMemory();
            array_release(&lv.pred);
            array_release(&lv.anchors);
            goto done;
        }
        vals = grown;
        slots.count = 0;
        int status = obj_scan(&lv, n_anchor, per, &slots);
        float zero = (float)lv.zero, scale = (float)lv.scale, stride = (float)lv.stride;
        for (Py_ssize_t c = 0; c < slots.count && status == 0; c++) {
            Py_ssize_t slot = slots.cells[c], j = slot / n_anchor, a = slot % n_anchor;
            if (lv.channels_last)
                gather_f(&lv.pred, slot * per, 1, per, vals);
            else
                gather_f(&lv.pred, a * per * lv.n_cells + j, lv.n_cells, per, vals);
            if (lv.quant)
                for (Py_ssize_t k = 0; k < per; k++)
                    vals[k] = (vals[k] - zero) * scale;
            float best = vals[5];
            int32_t best_k = 0, nan = 0;
            for (Py_ssize_t k = 0; k < lv.n_cls; k++) {
                float v = vals[5 + k];
                if (v != v) {
                    nan = 1;        /* numpy's argmax picks it: the score is NaN, dropped */
                    break;
                }
                if (v > best) {
                    best = v;
                    best_k = (int32_t)k;
                }
            }
            if (nan)
                continue;
            float p[6] = {vals[0], vals[1], vals[2], vals[3], vals[4], best};
            if (logit_scores)
                for (int k = 0; k < 6; k++)
                    p[k] = activate(p[k]);
            float score = p[4] * p[5];
            if (!(score >= thr))
                continue;
            if (found_reserve(&found, 1) < 0) {
                status = -1;
                break;
            }
            float col = (float)(j % lv.grid_w), row = (float)(j / lv.grid_w);
            float x = (p[0] * 2.0f - 0.5f + col) * stride, y = (p[1] * 2.0f - 0.5f + row) * stride;
            float w = p[2] * 2.0f, h = p[3] * 2.0f;
            w = w * w * anchor_wh[2 * a];
            h = h * h * anchor_wh[2 * a + 1];
            float half_w = w * 0.5f, half_h = h * 0.5f;
            float *box = found.xyxy + 4 * found.count;
            box[0] = x - half_w;
            box[1] = y - half_h;
            box[2] = x + half_w;
            box[3] = y + half_h;
            found.score[found.count] = score;
            found.class_id[found.count] = best_k;
            found.anchor[found.count] = lv.first + slot;
            found.count++;
        }
        array_release(&lv.pred);
        array_release(&lv.anchors);
        if (status < 0)
            goto done;
    }
    if (iou >= 0.0 && found_nms(&found, iou, max_det, agnostic) < 0)
        goto done;
    result = found_result(&found);
done:
    Py_DECREF(seq);
    free(vals);
    free(slots.cells);
    found_free(&found);
    return result;
}


static PyMethodDef methods[] = {
    {"dfl_decode", dfl_decode, METH_VARARGS, dfl_decode_doc},
    {"anchor_decode", anchor_decode, METH_VARARGS, anchor_decode_doc},
    {"greedy_nms", greedy_nms, METH_VARARGS, greedy_nms_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "Compiled inner loops of edge_perception's decoders (see native.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* Bumped whenever a function or its arguments change: native.py refuses another (a stale
 * in-place build from an older checkout) and the decoders use numpy instead. */
#define KERNELS_VERSION 2

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "VERSION", KERNELS_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
