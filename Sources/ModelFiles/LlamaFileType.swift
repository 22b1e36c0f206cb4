/// llama.cpp's `general.file_type` (`llama_ftype` in llama.h): what a file as a whole is called ("Q4_K_M"),
/// which its tensor types alone do not say (Qwen's q4_k_m files are mostly Q5_0 and Q8_0 by bytes).
public enum LlamaFileType {
    /// Value → name, as llama.h numbers them (4–6 were removed upstream).
    public static let names: [Int: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
        12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
        19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
        26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 32: "BF16",
    ]

    /// The value for a file whose matrices are all `type` (K-quants as llama.cpp's "_M" mixes).
    public static func value(allMatricesOf type: GGMLType) -> UInt32 {
        switch type {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q4_K: return 15
        case .q5_K: return 17
        case .q6_K: return 18
        case .bf16: return 32
        default: return 0
        }
    }
}
