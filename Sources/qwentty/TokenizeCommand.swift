import ArgumentParser
import Foundation
import ModelFiles
import Tokenizer

/// `qwentty tokenize`: token ids of text, for checking against other tokenizers. Needs only the
/// vocabulary, so a vocab-only GGUF works.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of TEXT (or of stdin), separated by spaces."
    )

    @OptionGroup var modelOption: ModelOption
    @Argument(help: "Text to tokenize; read from stdin when omitted.")
    var text: String?
    @Flag(help: "Read {\"text\": …} lines from stdin and write {\"ids\": […]} lines.")
    var jsonl = false
    @Flag(help: "Parse control tokens such as <|im_start|> written in the text.")
    var special = false

    func run() throws {
        let tokenizer = try QwenTokenizer(gguf: GGUFFile(path: modelOption.resolvedPath()))
        if jsonl {
            var failures = 0
            var lineNumber = 0
            while let line = readLine(strippingNewline: true) {
                lineNumber += 1
                guard let data = line.data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let value = object["text"] as? String else {
                    // Keep output aligned with input: one line out per line in.
                    writeOut(try JSONOutput.line(JSONLineError.expectedText(line: lineNumber)))
                    failures += 1
                    continue
                }
                let ids = tokenizer.encode(value, parseSpecial: special)
                writeOut(try JSONOutput.line(["ids": ids]))
            }
            if failures > 0 { throw ExitCode(1) }
            return
        }
        let ids: [Int32]
        if let text {
            ids = tokenizer.encode(text, parseSpecial: special)
        } else {
            // Raw bytes: invalid UTF-8 is repaired to U+FFFD by the tokenizer, not rejected.
            ids = tokenizer.encode(bytes: [UInt8](FileHandle.standardInput.readDataToEndOfFile()), parseSpecial: special)
        }
        writeOut(ids.map(String.init).joined(separator: " ") + "\n")
    }
}
