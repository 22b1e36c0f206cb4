/// A tensor as the engine consumes it: ggml type, ggml-order dimensions (`dims[0]` the row length) and its
/// bytes, valid while the source lives.
public struct TensorView {
    public let type: GGMLType
    public let dims: [Int]
    public let data: UnsafeRawPointer

    public init(type: GGMLType, dims: [Int], data: UnsafeRawPointer) {
        self.type = type
        self.dims = dims
        self.data = data
    }
}

/// Where a model's weights come from, by the engine's (llama.cpp's GGUF) tensor names: a GGUF file as
/// it is, or a Hugging Face folder through its one name map. Sources are reference types that own the
/// memory their views point into; a model keeps its source alive.
public protocol TensorSource: AnyObject {
    var path: String { get }
    /// The tensor the engine calls `name` (e.g. `blk.0.attn_q.weight`), or nil when there is none.
    func tensorView(named name: String) -> TensorView?
    /// A one-line error about this source.
    func error(_ field: String, _ problem: String) -> ModelFileError
}

extension GGUFFile: TensorSource {
    public func tensorView(named name: String) -> TensorView? {
        tensor(named: name).map { TensorView(type: $0.type, dims: $0.dims, data: data(of: $0)) }
    }
}
