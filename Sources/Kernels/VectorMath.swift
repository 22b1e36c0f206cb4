import Foundation

/// Small Float vector operations of the forward pass (everything that is not a mat-mul).

/// `out = x / sqrt(mean(x²) + eps) · weight` (RMSNorm), computed in Float as transformers does.
public func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                    count: Int, epsilon: Float) {
    let meanSquare = dot(x, x, count: count) / Float(count)
    let scale = 1 / (meanSquare + epsilon).squareRoot()
    for i in 0 ..< count { out[i] = x[i] * scale * weight[i] }
}

@inline(never)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    dotF32(UnsafeRawPointer(a), b, count: count)
}

/// `y += alpha · x`
@inline(never)
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let a = SIMD8<Float>(repeating: alpha)
    while i + 8 <= count {
        let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        var yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
        yv.addProduct(a, xv)
        UnsafeMutableRawPointer(y + i).storeBytes(of: yv, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] += alpha * x[i]; i += 1 }
}

/// In-place softmax over `count` values (max-subtracted for stability).
@inline(never)
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let maxValue = maximum(x, count: count)
    for i in 0 ..< count { x[i] = polynomialExp(x[i] - maxValue) }
    let inv = 1 / sum(x, count: count)
    for i in 0 ..< count { x[i] *= inv }
}

/// `log(Σ exp(xᵢ))`, computed stably (max-subtracted): the log-softmax normaliser that the sampler and
/// the sentiment classifier take over the whole vocabulary every token.
@inline(never)
public func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
    guard count > 0 else { return -.infinity }
    let maxValue = maximum(x, count: count)
    guard maxValue.isFinite else { return maxValue }
    // Exponentials go through a small buffer so both loops vectorise (a running Float sum in the same
    // loop would not: LLVM may not reorder the additions).
    var total: Float = 0
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { buffer in
        guard let chunk = buffer.baseAddress else { return }
        var start = 0
        while start < count {
            let n = min(256, count - start)
            for i in 0 ..< n { chunk[i] = polynomialExp(x[start + i] - maxValue) }
            total += sum(chunk, count: n)
            start += n
        }
    }
    return maxValue + log(total)
}

/// `gate = silu(gate) · up` (SwiGLU), in place.
@inline(never)
public func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count {
        let g = gate[i]
        gate[i] = g / (1 + polynomialExp(-g)) * up[i]
    }
}

/// `exp(x)` for Float within 1.2e-7 relative error (measured over [−87, 88] against Double `exp`), in a
/// form LLVM vectorises: libm's `expf` is a call per element, which made softmax, SwiGLU and the
/// sampler's normaliser 4–10× slower. Range reduction by ln 2 (in two parts), a degree-6 polynomial
/// (the Cephes `expf` coefficients), and 2ⁿ built in the exponent bits. Below −87.3 the result is
/// clamped to ~1.2e-38 rather than 0; the callers only ever add such values to sums of at least 1.
@inline(__always)
func polynomialExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.33654), 88.37626)
    // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits, so no Float→Int conversion is
    // needed (its overflow check would stop vectorisation).
    let shifted = clamped * 1.44269504088896341 + 12_582_912
    let n = shifted - 12_582_912
    let r = clamped - n * 0.693359375 + n * 2.12194440e-4
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let mantissa = p * r * r + r + 1
    let exponent = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
    return mantissa * Float(bitPattern: exponent)
}

/// Largest of `count` values (eight lanes at a time).
func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var lanes = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= count {
        // (`pointwiseMax` is generic in the standard library and was not inlined: a call per 8 values.)
        let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        lanes.replace(with: v, where: v .> lanes)
        i += 8
    }
    var result = lanes.max()
    while i < count { result = max(result, x[i]); i += 1 }
    return result
}

/// Sum of `count` values (eight lanes at a time).
func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        i += 8
    }
    var result = lanes.sum()
    while i < count { result += x[i]; i += 1 }
    return result
}
