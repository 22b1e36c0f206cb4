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
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var maxValue = -Float.infinity
    for i in 0 ..< count { maxValue = max(maxValue, x[i]) }
    var sum: Float = 0
    for i in 0 ..< count {
        x[i] = exp(x[i] - maxValue)
        sum += x[i]
    }
    let inv = 1 / sum
    for i in 0 ..< count { x[i] *= inv }
}

/// `gate = silu(gate) · up` (SwiGLU), in place.
public func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    for i in 0 ..< count {
        let g = gate[i]
        gate[i] = g / (1 + exp(-g)) * up[i]
    }
}
