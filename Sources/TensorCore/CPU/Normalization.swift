import Foundation

/// GroupNorm and LayerNorm. Statistics never take the E[x²] − E[x]² form,
/// where activations with a large mean lose all precision: LayerNorm's rows
/// are two-pass (mean, then squared deviations); GroupNorm, whose activations
/// are large enough for each pass over them to cost (a VAE's 512² layers:
/// 134–268 MB), sums deviations from a shift per channel in one pass — the
/// channel's first value, so the sums stay of the order of the spread — and
/// combines channels exactly in f64 (Chan et al.'s parallel variance).
extension CPUBackend {
    public func groupNorm(_ x: Tensor, offsets: Tensor?, groups: Int, weight: Tensor, bias: Tensor, eps: Float,
                          silu: Bool) -> Tensor {
        return timed(.norms, "group norm") {
            let geometry = GroupNormGeometry(input: x.shape, groups: groups, weight: weight.shape, bias: bias.shape,
                                             offsets: offsets?.shape)
            let (batch, rows, channels) = (geometry.batch, geometry.rows, geometry.channels)
            let perGroup = channels / groups
            let (out, y) = makeTensor(x.shape)
            guard x.count > 0 else { return out }  // no first row to centre on
            let input = x.floats, gamma = weight.floats, beta = bias.floats
            // Per channel: scale, center, shift, the first row (offset) and zero offsets.
            let scale = UnsafeMutablePointer<Float>.allocate(capacity: channels * 5)
            defer { scale.deallocate() }
            let center = scale + channels, shift = center + channels, first = shift + channels, zeros = first + channels
            zeros.update(repeating: 0, count: channels)

            for n in 0..<batch {
                let xs = input + n * rows * channels, ys = y + n * rows * channels
                // x + offset, each sum rounded to f32 as the separate add that diffusers makes rounds it.
                let added = UnsafePointer(offsets.map { $0.floats + n * channels } ?? zeros)
                for c in 0..<channels { first[c] = xs[c] + added[c] }
                let count = Double(rows * perGroup), perChannel = Double(rows)
                let (sums, squares) = shiftedChannelMoments(xs, added, shift: first, rows: rows, channels: channels)
                // Channel c's mean is x₀ + Σd/n; the group's squared deviations
                // M2 = Σ_c (Σd² − (Σd)²/n) + n·Σ_c (mean_c − mean)².
                func channelMean(_ c: Int) -> Double { Double(first[c]) + sums[c] / perChannel }
                for g in 0..<groups {
                    let members = g * perGroup..<(g + 1) * perGroup
                    let mean = members.reduce(0) { $0 + channelMean($1) } / Double(perGroup)
                    var deviations = 0.0
                    for c in members {
                        let offset = channelMean(c) - mean
                        deviations += squares[c] - sums[c] * sums[c] / perChannel + perChannel * offset * offset
                    }
                    let variance = deviations / count
                    let rstd = 1 / (max(variance, 0) + Double(eps)).squareRoot()
                    for c in members {
                        scale[c] = Float(rstd * Double(gamma[c]))
                        center[c] = Float(mean)
                        shift[c] = Float(Double(beta[c]) + (Double(Float(mean)) - mean) * rstd * Double(gamma[c]))
                    }
                }
                parallelFor(rows, threads: threads, minimumPerThread: max(1, 8192 / channels)) { range in
                    for r in range {
                        let row = ys + r * channels
                        normalizeRow(xs + r * channels, added, row, center, scale, shift, channels)
                        // Again over the row while it is in L1: the SiLU in C.
                        if silu { sigmoidTimes(row, slope: 1, into: row, count: channels) }
                    }
                }
            }
            return out
        }
    }

    /// Per-channel Σd and Σd² of d = (x + offset) − x₀ (x₀: the channel's
    /// offset value in the first row) over `rows` rows of `channels` values,
    /// in one pass, accumulated in f32 over short runs and f64 overall.
    private func shiftedChannelMoments(_ x: UnsafePointer<Float>, _ offset: UnsafePointer<Float>,
                                       shift x0: UnsafePointer<Float>, rows: Int,
                                       channels: Int) -> (sums: [Double], squares: [Double]) {
        let workers = min(threads, max(1, rows * channels / 16384))
        var partials = [Double](repeating: 0, count: workers * channels * 2)
        partials.withUnsafeMutableBufferPointer { totals in
            let totalsBase = UncheckedBox(totals.baseAddress!)
            parallelFor(workers, threads: workers) { workerRange in
                for w in workerRange {
                    let mySums = totalsBase.value + w * channels * 2, mySquares = mySums + channels
                    let runs = UnsafeMutablePointer<Float>.allocate(capacity: channels * 2)
                    defer { runs.deallocate() }
                    let runSums = runs, runSquares = runs + channels
                    let lo = rows * w / workers, hi = rows * (w + 1) / workers
                    var r = lo
                    while r < hi {
                        let end = min(hi, r + 64)
                        runs.update(repeating: 0, count: channels * 2)
                        for row in r..<end {
                            let xr = x + row * channels
                            var c = 0
                            while c + vectorWidth <= channels {
                                let d = loadVector(xr + c) + loadVector(offset + c) - loadVector(x0 + c)
                                storeVector(loadVector(runSums + c) + d, runSums + c)
                                storeVector(loadVector(runSquares + c) + d * d, runSquares + c)
                                c += vectorWidth
                            }
                            while c < channels {
                                let d = (xr[c] + offset[c]) - x0[c]
                                runSums[c] += d
                                runSquares[c] += d * d
                                c += 1
                            }
                        }
                        for c in 0..<channels {
                            mySums[c] += Double(runSums[c])
                            mySquares[c] += Double(runSquares[c])
                        }
                        r = end
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: channels), squares = sums
        for w in 0..<workers {
            for c in 0..<channels {
                sums[c] += partials[w * channels * 2 + c]
                squares[c] += partials[w * channels * 2 + channels + c]
            }
        }
        return (sums, squares)
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        return timed(.norms, "layer norm") {
            let width = x.dim(-1)
            precondition(weight.count == width && bias.count == width, "layerNorm: affine size")
            let rows = x.count / max(width, 1)
            let (out, y) = makeTensor(x.shape)
            let input = x.floats, gamma = weight.floats, beta = bias.floats
            parallelFor(rows, threads: threads, minimumPerThread: max(1, 8192 / max(width, 1))) { range in
                for r in range {
                    let xr = input + r * width, yr = y + r * width
                    // Mean from deviations from the row's first value (so the
                    // sums stay of the order of the spread), then the squared
                    // deviations from the f32 mean, corrected by its residue.
                    let first = xr[0]
                    let mean = Double(first) + laneSums(xr, width) { $0 - first } / Double(width)
                    let m = Float(mean)
                    let squares = laneSums(xr, width) { let d = $0 - m; return d * d }
                    let residue = mean - Double(m)
                    let variance = squares / Double(width) - residue * residue
                    let rstd = Float(1 / (max(variance, 0) + Double(eps)).squareRoot())
                    // x − m is exact where x is near m; taking the residue off
                    // it too centres on the f64 mean (at mean 100, m alone is
                    // up to half an ulp of 100 off: 1.3e-5 after scaling).
                    let r = Float(residue)
                    var i = 0
                    while i + vectorWidth <= width {
                        let v = (loadVector(xr + i) - m - r) * rstd * loadVector(gamma + i) + loadVector(beta + i)
                        storeVector(v, yr + i)
                        i += vectorWidth
                    }
                    while i < width { yr[i] = (xr[i] - m - r) * rstd * gamma[i] + beta[i]; i += 1 }
                }
            }
            return out
        }
    }
}

/// Σ f(x[i]) over a row: f32 lanes over runs of 32 vectors (two
/// accumulators, so the adds overlap), the runs summed in f64. A LayerNorm
/// row was a scalar f64 chain before, one add per 4 cycles: 110 µs per
/// BERT-base layer norm at 128 tokens on Zen 5.
@inline(__always)
func laneSums(_ x: UnsafePointer<Float>, _ n: Int, _ f: (FloatVector) -> FloatVector) -> Double {
    var total = 0.0, i = 0
    while i + 2 * vectorWidth <= n {
        let end = min(n, i + 32 * vectorWidth)
        var a = FloatVector(), b = FloatVector()
        while i + 2 * vectorWidth <= end {
            a += f(loadVector(x + i))
            b += f(loadVector(x + i + vectorWidth))
            i += 2 * vectorWidth
        }
        total += Double((a + b).sum())
    }
    while i < n { total += Double(f(FloatVector(repeating: x[i]))[0]); i += 1 }
    return total
}

/// y = ((x + offset) − center)·scale + shift per channel. Centering first
/// keeps the result exact to f32 where the mean dwarfs the spread (x·scale and
/// mean·scale would both be ≈ 100·scale and cancel).
@inline(__always)
func normalizeRow(_ x: UnsafePointer<Float>, _ offset: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                  _ center: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, _ shift: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + vectorWidth <= n {
        let v = (loadVector(x + i) + loadVector(offset + i) - loadVector(center + i)) * loadVector(scale + i)
            + loadVector(shift + i)
        storeVector(v, y + i)
        i += vectorWidth
    }
    while i < n {
        y[i] = (x[i] + offset[i] - center[i]) * scale[i] + shift[i]
        i += 1
    }
}
