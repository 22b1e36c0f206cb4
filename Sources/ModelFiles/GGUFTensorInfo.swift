/// One entry of a GGUF tensor directory, already validated against the file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ggml order: `dims[0]` is the fastest-varying (row length), so a PyTorch `[out, in]` weight is `[in, out]`.
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the file (already includes the data section start).
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    /// Length of one row (`dims[0]`) and how many rows there are (all other dims folded).
    public var rowLength: Int { dims[0] }
    public var rowCount: Int { elementCount / dims[0] }
    public var rowBytes: Int { dims[0] / type.blockSize * type.blockBytes }
}
