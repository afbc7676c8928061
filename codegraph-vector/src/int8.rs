//! Linear layers with 8-bit weights and activations, for the local encoder.
//!
//! Weights are quantised once, per output row (symmetric, scale = max|w| / 127);
//! activations per input row as they arrive, asymmetrically into `u8` (the row's
//! range [min, max], widened to hold 0, in 255 steps, with the zero point where 0
//! falls): the VNNI instruction multiplies unsigned by signed bytes, and GELU's
//! output, the widest layer's input, is nearly all positive, so a symmetric code
//! would waste half its steps. The products are summed exactly in 32-bit integers,
//! the zero point is taken back out with each output's precomputed weight sum, and
//! the result is scaled back to `f32`. This is the "dynamic quantisation" that ONNX
//! Runtime and PyTorch apply to BERT's linear layers; its effect on the vectors is
//! measured in the encoder's tests and in docs/PERFORMANCE.md.
//!
//! Two kernels compute the same integers: one on AVX-512 VNNI (`vpdpbusd`, 64
//! multiply-adds per instruction, four times `f32` FMA), and a portable one for
//! other CPUs and as the reference in tests. Their outputs are bit-identical: the
//! integer sums are exact and both scale them with the same `f32` operations in the
//! same order.
//!
//! Weight layout: blocks of 16 output rows; within a block, for each group of 4
//! inputs, 64 bytes: row `r`'s 4 weights at bytes `4r..4r+4`. One 512-bit load is
//! then the right operand of one `vpdpbusd` for 16 outputs.

use crate::simd::round_to_int;

/// A linear layer `y = x W^T + b` with `W` quantised to 8 bits.
pub(crate) struct QuantLinear {
    /// Outputs (rows of `W`), a multiple of 16.
    n: usize,
    /// Inputs (columns of `W`), a multiple of 4.
    k: usize,
    packed: Vec<i8>,
    /// Per output: max|w| / 127.
    scale: Vec<f32>,
    /// Per output: the sum of its quantised weights (times a row's zero point, the
    /// share of the zero point in that row's sums).
    sums: Vec<i32>,
    bias: Vec<f32>,
}

/// Per-call buffers, reused across layers so a forward pass allocates once.
#[derive(Default)]
pub(crate) struct Scratch {
    xq: Vec<u8>,
    /// Per input row: its scale and zero point.
    xs: Vec<f32>,
    zero: Vec<i32>,
}

/// Whether this CPU runs the VNNI kernel.
pub(crate) fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl QuantLinear {
    /// Quantises `weight` (`n` rows of `k`, as stored in the checkpoint). `None` when
    /// the shape does not suit the kernel (the caller keeps that layer in `f32`).
    pub(crate) fn new(weight: &[f32], bias: Vec<f32>, n: usize, k: usize) -> Option<QuantLinear> {
        if n == 0
            || k == 0
            || !n.is_multiple_of(16)
            || !k.is_multiple_of(4)
            || weight.len() != n * k
        {
            return None;
        }
        let groups = k / 4;
        let mut packed = vec![0i8; n * k];
        let mut scale = vec![0f32; n];
        let mut sums = vec![0i32; n];
        for row in 0..n {
            let w = &weight[row * k..][..k];
            let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            let (s, inv) = if max > 0.0 && max.is_finite() {
                (max / 127.0, 127.0 / max)
            } else {
                (0.0, 0.0)
            };
            scale[row] = s;
            let (block, lane) = (row / 16, row % 16);
            let mut sum = 0i32;
            for (col, &v) in w.iter().enumerate() {
                let q = round_to_int((v * inv).clamp(-127.0, 127.0)) as i8;
                sum += q as i32;
                packed[(block * groups + col / 4) * 64 + lane * 4 + col % 4] = q;
            }
            sums[row] = sum;
        }
        Some(QuantLinear {
            n,
            k,
            packed,
            scale,
            sums,
            bias,
        })
    }

    pub(crate) fn outputs(&self) -> usize {
        self.n
    }

    /// `out[m x n] = x[m x k] W^T + b`.
    pub(crate) fn forward(&self, x: &[f32], m: usize, out: &mut [f32], scratch: &mut Scratch) {
        self.forward_with(x, m, out, scratch, has_vnni());
    }

    pub(crate) fn forward_with(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
        vnni: bool,
    ) {
        assert_eq!(x.len(), m * self.k);
        assert_eq!(out.len(), m * self.n);
        #[cfg(target_arch = "x86_64")]
        if vnni {
            // SAFETY: the caller saw the CPU features (`has_vnni`); the shapes were
            // checked above and in `new`.
            unsafe { vnni::matmul(self, x, m, out, scratch) };
            return;
        }
        let _ = vnni;
        quantize_rows(x, m, self.k, scratch);
        self.matmul_portable(scratch, m, out);
    }

    fn matmul_portable(&self, scratch: &Scratch, m: usize, out: &mut [f32]) {
        let (n, k, groups) = (self.n, self.k, self.k / 4);
        let (xq, xs, zero) = (&scratch.xq, &scratch.xs, &scratch.zero);
        // One output's weights unpacked into a contiguous row, so the dot products
        // below are plain integer loops the compiler vectorises (integer sums may be
        // reordered, unlike float ones).
        let mut row = vec![0i8; k];
        for j in 0..n {
            let (block, lane) = (j / 16, j % 16);
            for g in 0..groups {
                row[g * 4..][..4]
                    .copy_from_slice(&self.packed[(block * groups + g) * 64 + lane * 4..][..4]);
            }
            for i in 0..m {
                let x = &xq[i * k..][..k];
                let acc: i32 = x.iter().zip(&row).map(|(&a, &w)| a as i32 * w as i32).sum();
                let shift = zero[i] * self.sums[j];
                out[i * n + j] = dequantize(acc, shift, xs[i], self.scale[j], self.bias[j]);
            }
        }
    }
}

/// The one place an integer sum becomes a float; both kernels use these operations in
/// this order, so they agree to the bit.
#[inline(always)]
fn dequantize(acc: i32, shift: i32, xs: f32, ws: f32, bias: f32) -> f32 {
    (acc - shift) as f32 * (xs * ws) + bias
}

/// Each row of `x` to `u8` (value / scale + zero point), with its scale and zero
/// point in `scratch`.
/// Inlined into each kernel's entry, so it vectorises for that kernel's features.
#[inline(always)]
fn quantize_rows(x: &[f32], m: usize, k: usize, scratch: &mut Scratch) {
    scratch.xq.resize(m * k, 0);
    scratch.xs.resize(m, 0.0);
    scratch.zero.resize(m, 0);
    for i in 0..m {
        let row = &x[i * k..][..k];
        let (min, max) = crate::simd::min_max(row);
        let (min, max) = (min.min(0.0), max.max(0.0));
        let range = max - min;
        let (s, inv) = if range > 0.0 && range.is_finite() {
            (range / 255.0, 255.0 / range)
        } else {
            (0.0, 0.0)
        };
        let zero = round_to_int(-min * inv).clamp(0, 255);
        scratch.xs[i] = s;
        scratch.zero[i] = zero;
        let z = zero as f32;
        for (q, &v) in scratch.xq[i * k..][..k].iter_mut().zip(row) {
            *q = round_to_int((v * inv + z).clamp(0.0, 255.0)) as u8;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    use super::{QuantLinear, Scratch, quantize_rows};

    /// Tiles of up to 4 input rows by up to 64 outputs: 16 accumulators, so the
    /// 4 weight loads and 4 broadcasts of a step feed 16 `vpdpbusd`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn matmul(
        q: &QuantLinear,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ) {
        quantize_rows(x, m, q.k, scratch);
        let (xq, xs, zero) = (&scratch.xq[..], &scratch.xs[..], &scratch.zero[..]);
        let blocks = q.n / 16;
        let mut b = 0;
        while b < blocks {
            let nb = (blocks - b).min(4);
            let mut i = 0;
            while i < m {
                let mr = (m - i).min(4);
                macro_rules! dispatch {
                    ($(($r:literal, $c:literal)),*) => {
                        match (mr, nb) {
                            $(($r, $c) => unsafe { tile::<$r, $c>(q, xq, xs, zero, out, i, b) },)*
                            _ => unreachable!(),
                        }
                    };
                }
                dispatch!(
                    (1, 1),
                    (1, 2),
                    (1, 3),
                    (1, 4),
                    (2, 1),
                    (2, 2),
                    (2, 3),
                    (2, 4),
                    (3, 1),
                    (3, 2),
                    (3, 3),
                    (3, 4),
                    (4, 1),
                    (4, 2),
                    (4, 3),
                    (4, 4)
                );
                i += mr;
            }
            b += nb;
        }
    }

    /// Rows `i..i+MR` by blocks `b..b+NB`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn tile<const MR: usize, const NB: usize>(
        q: &QuantLinear,
        xq: &[u8],
        xs: &[f32],
        zero: &[i32],
        out: &mut [f32],
        i: usize,
        b: usize,
    ) {
        let (n, k, groups) = (q.n, q.k, q.k / 4);
        debug_assert!(xq.len() >= (i + MR) * k && (b + NB) * 16 <= n);
        let w = q.packed.as_ptr();
        let x = xq.as_ptr();
        let mut acc = [[_mm512_setzero_si512(); NB]; MR];
        for g in 0..groups {
            let mut wv = [_mm512_setzero_si512(); NB];
            for (j, v) in wv.iter_mut().enumerate() {
                // SAFETY: block b+j < n/16 and g < groups, inside `packed`.
                *v = unsafe { _mm512_loadu_si512(w.add(((b + j) * groups + g) * 64).cast()) };
            }
            for (r, row) in acc.iter_mut().enumerate() {
                // SAFETY: row i+r < m and 4g+4 <= k, inside `xq`.
                let a = unsafe { x.add((i + r) * k + g * 4).cast::<i32>().read_unaligned() };
                let a = _mm512_set1_epi32(a);
                for (c, v) in row.iter_mut().zip(&wv) {
                    *c = _mm512_dpbusd_epi32(*c, a, *v);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let s = _mm512_set1_ps(xs[i + r]);
            let z = _mm512_set1_epi32(zero[i + r]);
            for (j, c) in row.iter().enumerate() {
                let col = (b + j) * 16;
                // SAFETY: col + 16 <= n for every per-output vector and for the
                // output row; `out` holds m rows of n.
                unsafe {
                    let sums = _mm512_loadu_si512(q.sums.as_ptr().add(col).cast());
                    let shift = _mm512_mullo_epi32(z, sums);
                    let ws = _mm512_loadu_ps(q.scale.as_ptr().add(col));
                    let bias = _mm512_loadu_ps(q.bias.as_ptr().add(col));
                    let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(*c, shift));
                    let y = _mm512_add_ps(_mm512_mul_ps(v, _mm512_mul_ps(s, ws)), bias);
                    _mm512_storeu_ps(out.as_mut_ptr().add((i + r) * n + col), y);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test matrices (xorshift).
    fn values(seed: u64, len: usize, scale: f32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    #[test]
    fn shapes_the_kernel_cannot_take_are_refused() {
        assert!(QuantLinear::new(&[0.0; 15 * 4], vec![0.0; 15], 15, 4).is_none());
        assert!(QuantLinear::new(&[0.0; 16 * 6], vec![0.0; 16], 16, 6).is_none());
        assert!(QuantLinear::new(&[0.0; 16 * 4], vec![0.0; 16], 16, 4).is_some());
    }

    #[test]
    fn the_product_is_close_to_the_float_product() {
        let (m, n, k) = (7, 48, 40);
        let w = values(1, n * k, 0.5);
        let b = values(2, n, 0.1);
        let x = values(3, m * k, 2.0);
        let q = QuantLinear::new(&w, b.clone(), n, k).unwrap();
        let mut out = vec![0.0; m * n];
        q.forward_with(&x, m, &mut out, &mut Scratch::default(), false);
        for i in 0..m {
            for j in 0..n {
                let exact: f32 = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + b[j];
                // Each operand is off by at most half a step of its scale
                // (|x| <= 2, |w| <= 0.5), each of the k products by at most this.
                let (dx, dw) = (2.0 / 127.0 / 2.0, 0.5 / 127.0 / 2.0);
                let bound = k as f32 * (0.5 * dx + 2.0 * dw + dx * dw);
                assert!((out[i * n + j] - exact).abs() < bound, "{i},{j}");
            }
        }
    }

    #[test]
    fn a_zero_row_gives_the_bias() {
        let (m, n, k) = (2, 16, 8);
        let w = values(4, n * k, 1.0);
        let b = values(5, n, 1.0);
        let q = QuantLinear::new(&w, b.clone(), n, k).unwrap();
        let mut out = vec![0.0; m * n];
        q.forward(&vec![0.0; m * k], m, &mut out, &mut Scratch::default());
        assert_eq!(&out[..n], &b[..]);
        assert_eq!(&out[n..], &b[..]);
    }

    #[test]
    fn vnni_and_portable_kernels_agree_to_the_bit() {
        if !has_vnni() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        // Every tile shape: rows 1..=9 cover 4+4+1 etc., outputs 16..=112 cover 1..4 blocks.
        for (m, n, k) in [
            (1, 16, 4),
            (3, 32, 12),
            (9, 112, 36),
            (13, 64, 384),
            (5, 80, 1536),
        ] {
            let w = values(m as u64 * 31 + n as u64, n * k, 0.3);
            let b = values(7, n, 0.2);
            let x = values(k as u64, m * k, 3.0);
            let q = QuantLinear::new(&w, b, n, k).unwrap();
            let (mut fast, mut slow) = (vec![0.0; m * n], vec![1.0; m * n]);
            q.forward_with(&x, m, &mut fast, &mut Scratch::default(), true);
            q.forward_with(&x, m, &mut slow, &mut Scratch::default(), false);
            assert_eq!(fast, slow, "{m}x{n}x{k}");
        }
    }
}
