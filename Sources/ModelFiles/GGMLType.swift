/// A ggml tensor element type, with its block geometry.
///
/// Every type llama.cpp can write is listed so that a file using one we cannot compute with still parses
/// (and `info` can describe it); whether a type is *supported* is the kernels' decision, not the reader's.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// Elements per block (1 for plain scalar types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        default: return 256
        }
    }

    /// Bytes per block (from ggml's type traits).
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .i8: return 1
        case .i16: return 2
        case .i32: return 4
        case .i64, .f64: return 8
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 40  // as gguf-py's GGML_QUANT_SIZES has it
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    /// The name llama.cpp prints (`Q4_K`, `F16`, …).
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        default: return "\(self)".uppercased()
        }
    }
}
