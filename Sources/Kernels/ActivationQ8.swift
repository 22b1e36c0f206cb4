/// An activation matrix (`tokens × length`) quantised to Q8_0 form once per mat-mul, so every weight row is
/// dotted against it in integer arithmetic (llama.cpp's scheme).
///
/// Values are stored pre-widened to Int16: the int8·int8 dot then compiles to `vpmaddwd` without a
/// widening shuffle per block (see ../shared/PERFORMANCE.md). Scales stay in Float (ggml rounds them to
/// f16; keeping f32 loses nothing and is slightly more accurate).
public final class ActivationQ8 {
    public private(set) var values: UnsafeMutablePointer<Int16>
    public private(set) var scales: UnsafeMutablePointer<Float>
    /// Σ of the quantised values of each block: folds a format's constant offset or min out of the dot
    /// product (Σ (n − 8)·x = Σ n·x − 8·Σ x).
    public private(set) var sums: UnsafeMutablePointer<Int32>
    private var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 32)
        values = .allocate(capacity: self.capacity)
        scales = .allocate(capacity: self.capacity / 32)
        sums = .allocate(capacity: self.capacity / 32)
    }

    deinit {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    /// Quantises `tokens` rows of `length` Floats (length a multiple of 32).
    public func quantize(_ x: UnsafePointer<Float>, tokens: Int, length: Int) {
        let total = tokens * length
        if total > capacity {
            values.deallocate()
            scales.deallocate()
            sums.deallocate()
            capacity = total
            values = .allocate(capacity: total)
            scales = .allocate(capacity: total / 32)
            sums = .allocate(capacity: total / 32)
        }
        quantizeQ8(x, values, scales, sums, blocks: total / 32)
    }

    /// The last `quantize` result as the panel kernels read it (`length` as passed to `quantize`).
    func quantized(length: Int) -> QuantizedActivation {
        QuantizedActivation(values: values, scales: scales, sums: sums, cols: length)
    }
}

@inline(never)
func quantizeQ8(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int16>, _ s: UnsafeMutablePointer<Float>,
                _ sums: UnsafeMutablePointer<Int32>, blocks: Int) {
    for b in 0 ..< blocks {
        let xb = x + b * 32
        var amax: Float = 0
        for i in 0 ..< 32 { amax = max(amax, abs(xb[i])) }
        let d = amax / 127
        let inv: Float = d == 0 ? 0 : 1 / d
        s[b] = d
        var sum: Int32 = 0
        for i in 0 ..< 32 {
            let v = Int16((xb[i] * inv).rounded())
            q[b * 32 + i] = v
            sum &+= Int32(v)
        }
        sums[b] = sum
    }
}
