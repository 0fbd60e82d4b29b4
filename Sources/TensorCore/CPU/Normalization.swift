import Foundation

/// GroupNorm and LayerNorm. Statistics are two-pass (mean, then squared
/// deviations) with f64 totals, because activations with a large mean lose
/// all precision in the one-pass E[x²] − E[x]² form.
extension CPUBackend {
    public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool) -> Tensor {
        return timed(.norms, "group norm") {
            let channels = x.dim(-1), batch = x.shape[0]
            precondition(x.rank >= 2 && channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups")
            precondition(weight.count == channels && bias.count == channels, "groupNorm: affine size")
            let rows = x.count / (batch * channels)
            let perGroup = channels / groups
            let (out, y) = makeTensor(x.shape)
            let input = x.floats, gamma = weight.floats, beta = bias.floats
            let scale = UnsafeMutablePointer<Float>.allocate(capacity: channels * 2)
            defer { scale.deallocate() }
            let shift = scale + channels

            for n in 0..<batch {
                let xs = input + n * rows * channels, ys = y + n * rows * channels
                let count = Double(rows * perGroup)
                var groupMean = [Double](repeating: 0, count: groups)
                let sums = channelTotals(xs, rows: rows, channels: channels, center: nil)
                for g in 0..<groups {
                    groupMean[g] = sums[g * perGroup..<(g + 1) * perGroup].reduce(0, +) / count
                }
                let centers = (0..<channels).map { Float(groupMean[$0 / perGroup]) }
                let squares = centers.withUnsafeBufferPointer {
                    channelTotals(xs, rows: rows, channels: channels, center: $0.baseAddress!)
                }
                for g in 0..<groups {
                    // Deviations were taken from the f32-rounded mean; correct for that residue.
                    let residue = groupMean[g] - Double(Float(groupMean[g]))
                    let variance = squares[g * perGroup..<(g + 1) * perGroup].reduce(0, +) / count - residue * residue
                    let rstd = 1 / (max(variance, 0) + Double(eps)).squareRoot()
                    for c in g * perGroup..<(g + 1) * perGroup {
                        scale[c] = Float(rstd * Double(gamma[c]))
                        shift[c] = Float(Double(beta[c]) - groupMean[g] * rstd * Double(gamma[c]))
                    }
                }
                parallelFor(rows, threads: threads, minimumPerThread: max(1, 8192 / channels)) { range in
                    for r in range {
                        scaleShiftRow(xs + r * channels, ys + r * channels, scale, shift, channels, silu: silu)
                    }
                }
            }
            return out
        }
    }

    /// Per-channel Σx (center == nil) or Σ(x − center)² over `rows` rows of
    /// `channels` values, accumulated in f32 over short runs and f64 overall.
    private func channelTotals(_ x: UnsafePointer<Float>, rows: Int, channels: Int,
                               center: UnsafePointer<Float>?) -> [Double] {
        let workers = min(threads, max(1, rows * channels / 16384))
        var partials = [Double](repeating: 0, count: workers * channels)
        partials.withUnsafeMutableBufferPointer { totals in
            let totalsBase = UncheckedBox(totals.baseAddress!)
            parallelFor(workers, threads: workers) { workerRange in
                for w in workerRange {
                    let mine = totalsBase.value + w * channels
                    let run = UnsafeMutablePointer<Float>.allocate(capacity: channels)
                    defer { run.deallocate() }
                    let lo = rows * w / workers, hi = rows * (w + 1) / workers
                    var r = lo
                    while r < hi {
                        let end = min(hi, r + 64)
                        run.update(repeating: 0, count: channels)
                        for row in r..<end {
                            let xr = x + row * channels
                            if let center {
                                for c in 0..<channels { let d = xr[c] - center[c]; run[c] += d * d }
                            } else {
                                for c in 0..<channels { run[c] += xr[c] }
                            }
                        }
                        for c in 0..<channels { mine[c] += Double(run[c]) }
                        r = end
                    }
                }
            }
        }
        var totals = [Double](repeating: 0, count: channels)
        for w in 0..<workers { for c in 0..<channels { totals[c] += partials[w * channels + c] } }
        return totals
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
                    var sum: Double = 0
                    for i in 0..<width { sum += Double(xr[i]) }
                    let mean = sum / Double(width)
                    let m = Float(mean)
                    var squares: Double = 0
                    for i in 0..<width { let d = Double(xr[i] - m); squares += d * d }
                    let residue = mean - Double(m)
                    let variance = squares / Double(width) - residue * residue
                    let rstd = Float(1 / (max(variance, 0) + Double(eps)).squareRoot())
                    let shiftMean = Float(mean)
                    for i in 0..<width { yr[i] = (xr[i] - shiftMean) * rstd * gamma[i] + beta[i] }
                }
            }
            return out
        }
    }
}

/// y = x·scale + shift per channel, optionally followed by SiLU.
@inline(__always)
func scaleShiftRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                   _ scale: UnsafePointer<Float>, _ shift: UnsafePointer<Float>, _ n: Int, silu: Bool) {
    var i = 0
    while i + vectorWidth <= n {
        var v = loadVector(x + i) * loadVector(scale + i) + loadVector(shift + i)
        if silu { v = v * vectorSigmoid(v) }
        storeVector(v, y + i)
        i += vectorWidth
    }
    while i < n {
        var v = x[i] * scale[i] + shift[i]
        if silu { v = v / (1 + expf(-v)) }
        y[i] = v
        i += 1
    }
}
