import Foundation
import ModelFiles
import TestSupport

/// Hostile model files made by the tests, as an attacker could hand them to a user: a committed fixture
/// with some metadata replaced, or a new qwen2 shape (zero F32 weights, the fixture's tokenizer) whose
/// metadata asks for more than the file holds.
enum CraftedModelFile {
    /// `fixture` with its metadata changed by `change` and its tensors' bytes by `patch`.
    static func rewrite(_ fixture: String, as name: String,
                        metadata change: (inout [(String, GGUFValue)]) -> Void = { _ in },
                        tensors patch: (GGUFTensorInfo, inout [UInt8]) -> Void = { _, _ in }) throws -> String {
        let source = try GGUFFile(path: TestPaths.fixture(fixture))
        var metadata = source.metadataKeys.compactMap { key in source.metadata[key].map { (key, $0) } }
        change(&metadata)
        let path = temporaryPath(name)
        let writer = try GGUFWriter(path: path, metadata: metadata,
                                    tensors: source.tensors.map { .init(name: $0.name, dims: $0.dims, type: $0.type) })
        for tensor in source.tensors {
            var bytes = Array(UnsafeRawBufferPointer(start: source.data(of: tensor), count: tensor.byteCount))
            patch(tensor, &bytes)
            try bytes.withUnsafeBytes { try writer.writeTensor($0) }
        }
        try writer.finish()
        return path
    }

    /// A complete qwen2 model of the given shape with zero F32 weights and the tiny fixture's tokenizer.
    static func qwen2(as name: String, hidden: Int, heads: Int, kvHeads: Int, headSize: Int, layers: Int = 1,
                      ffn: Int = 1, context: Int = 32768) throws -> String {
        let source = try GGUFFile(path: TestPaths.fixture("tiny-qwen2-f32.gguf"))
        let vocabulary = source.tensor(named: "token_embd.weight")?.dims[1] ?? 0
        var metadata = source.metadataKeys.filter { !$0.hasPrefix("qwen2.") }.compactMap { key in source.metadata[key].map { (key, $0) } }
        metadata += [
            ("qwen2.block_count", .uint32(UInt32(layers))), ("qwen2.embedding_length", .uint32(UInt32(hidden))),
            ("qwen2.feed_forward_length", .uint32(UInt32(ffn))), ("qwen2.attention.head_count", .uint32(UInt32(heads))),
            ("qwen2.attention.head_count_kv", .uint32(UInt32(kvHeads))), ("qwen2.attention.key_length", .uint32(UInt32(headSize))),
            ("qwen2.context_length", .uint32(UInt32(context))),
        ]
        let q = heads * headSize, kv = kvHeads * headSize
        var tensors: [GGUFWriter.TensorEntry] = [.init(name: "token_embd.weight", dims: [hidden, vocabulary], type: .f32)]
        for i in 0 ..< layers {
            let b = "blk.\(i)."
            tensors += [
                .init(name: b + "attn_norm.weight", dims: [hidden], type: .f32),
                .init(name: b + "attn_q.weight", dims: [hidden, q], type: .f32),
                .init(name: b + "attn_k.weight", dims: [hidden, kv], type: .f32),
                .init(name: b + "attn_v.weight", dims: [hidden, kv], type: .f32),
                .init(name: b + "attn_output.weight", dims: [q, hidden], type: .f32),
                .init(name: b + "ffn_norm.weight", dims: [hidden], type: .f32),
                .init(name: b + "ffn_gate.weight", dims: [hidden, ffn], type: .f32),
                .init(name: b + "ffn_up.weight", dims: [hidden, ffn], type: .f32),
                .init(name: b + "ffn_down.weight", dims: [ffn, hidden], type: .f32),
            ]
        }
        tensors.append(.init(name: "output_norm.weight", dims: [hidden], type: .f32))
        let path = temporaryPath(name)
        let writer = try GGUFWriter(path: path, metadata: metadata, tensors: tensors)
        for tensor in tensors {
            let zeros = [UInt8](repeating: 0, count: tensor.dims.reduce(4, *))
            try zeros.withUnsafeBytes { try writer.writeTensor($0) }
        }
        try writer.finish()
        return path
    }

    private static func temporaryPath(_ name: String) -> String {
        TestPaths.temporaryDirectory.appendingPathComponent("qwentty-crafted-\(name).gguf").path
    }
}
