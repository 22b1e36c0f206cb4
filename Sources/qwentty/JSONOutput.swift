import Foundation

/// How every command writes JSON: Foundation's encoder (sorted keys), one value per line, plus the one
/// thing the encoder leaves to us. Output is read by programs but often lands on a terminal, and the
/// encoder writes C1 controls (U+009B is a CSI: an escape sequence in one character) and bidirectional
/// overrides raw; they are escaped as `\uXXXX`, which every JSON reader turns back into the same text.
enum JSONOutput {
    static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return escapingTerminalControls(String(decoding: try encoder.encode(value), as: UTF8.self)) + "\n"
    }

    /// Such characters can only occur inside JSON strings, where the escape means the same character.
    static func escapingTerminalControls(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: needsEscape) else { return json }
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            if needsEscape(scalar) {
                out.append(contentsOf: String(format: "\\u%04x", scalar.value).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x7F ... 0x9F, 0x202A ... 0x202E, 0x2066 ... 0x2069: return true
        default: return false
        }
    }
}

/// A number written as null when it is not finite: a NaN logprob from a broken file must not make the
/// whole line invalid JSON (`nan` is not a JSON number). `decimals` rounds figures meant for people.
struct JSONNumber: Encodable {
    let value: Double

    init(_ value: Double, decimals: Int? = nil) {
        if let decimals, value.isFinite {
            let scale = pow(10, Double(decimals))
            self.value = (value * scale).rounded() / scale
        } else {
            self.value = value
        }
    }

    /// Through the Float's shortest decimal form, so -0.1 is written "-0.1", not "-0.10000000149011612".
    init(_ value: Float) { self.init(value.isFinite ? Double("\(value)") ?? Double(value) : Double(value)) }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
    }
}

/// What a JSON-lines command writes for an input line it cannot use (one line out per line in).
struct JSONLineError: Encodable {
    let error: String

    static func expectedText(line: Int) -> JSONLineError {
        JSONLineError(error: "line \(line): expected a JSON object with a \"text\" string")
    }
}
