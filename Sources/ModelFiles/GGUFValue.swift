/// One GGUF metadata value. Arrays hold scalars or strings only: the reader rejects nested arrays.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// Any integer value that fits in `Int`; nil for other types.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// Any numeric value as a Float; nil for strings and arrays.
    public var float: Float? {
        switch self {
        case .float32(let v): return v
        case .float64(let v): return Float(v)
        default: return int.map(Float.init)
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short human description, for `info` (arrays are summarised, never printed whole).
    public var summary: String {
        switch self {
        case .string(let s): return s.count > 60 ? "\"\(s.prefix(57))…\" (\(s.utf8.count) bytes)" : "\"\(s)\""
        case .array(let a): return "[\(a.count) items]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return int.map(String.init) ?? "?"
        }
    }
}
