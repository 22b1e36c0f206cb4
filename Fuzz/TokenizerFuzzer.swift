// libFuzzer harness: arbitrary bytes as text for the tokenizer (the real Qwen vocabulary from
// ../shared/qwen-tokenizer when present, else the tiny fixture's). Checks, beyond "no crash":
// valid UTF-8 text survives encode → decode unchanged (special parsing off, so nothing is a control
// token), the streaming decoder emits exactly the same text, and special parsing never yields an id
// outside the vocabulary. Built and run by scripts/fuzz.sh.
import Foundation
import ModelFiles
import Tokenizer

private let tokenizer: QwenTokenizer = {
    let environment = ProcessInfo.processInfo.environment
    let path = environment["QWENTTY_FUZZ_VOCAB"] ?? "Tests/Fixtures/tiny-qwen2-f32.gguf"
    do {
        return try QwenTokenizer(gguf: GGUFFile(path: path))
    } catch {
        fatalError("tokenizer fuzzer: cannot load the vocabulary \(path): \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Any bytes, special tokens parsed: ids stay inside the vocabulary.
    let special = tokenizer.encode(bytes: bytes, parseSpecial: true)
    precondition(special.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "an id outside the vocabulary")
    _ = tokenizer.decode(special)
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    let ids = tokenizer.encode(text)
    precondition(tokenizer.decode(ids) == text, "encode → decode changed the text")
    var stream = StreamingDecoder(tokenizer: tokenizer)
    var streamed = ""
    for id in ids { streamed += stream.append(id) }
    streamed += stream.finish()
    precondition(streamed == text, "the streaming decoder changed the text")
    return 0
}
