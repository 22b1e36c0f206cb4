// libFuzzer harness: arbitrary bytes as a model file, through everything a load does before the first
// forward pass — the GGUF reader, the model config, the weight table, the tokenizer and the chat template.
// Every outcome must be a value or a thrown error; a crash, a sanitizer report, a hang or a runaway
// allocation is a finding. Built and run by scripts/fuzz.sh.
import Foundation
import ModelFiles
import Inference
import Tokenizer
import Transformer

/// One scratch file per process (libFuzzer runs inputs one after another on one thread).
nonisolated(unsafe) private var scratchPath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return directory + "/qwentty-fuzz-gguf-\(getpid()).gguf"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFLoad(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let file = fopen(scratchPath, "wb") else { return 0 }
    _ = fwrite(bytes.baseAddress, 1, size, file)
    fclose(file)
    guard let gguf = try? GGUFFile(path: scratchPath) else { return 0 }
    if let config = try? ModelConfig(gguf: gguf) {
        _ = try? ModelWeights(source: gguf, config: config)
    }
    if let tokenizer = try? QwenTokenizer(gguf: gguf) {
        let ids = tokenizer.encode("Hello 世界 <|im_start|>123 \u{1B}[2J", parseSpecial: true)
        _ = tokenizer.decode(ids)
        if let template = try? ChatTemplate(tokenizer: tokenizer, templateSource: gguf.metadata["tokenizer.chat_template"]?.string) {
            _ = template.render([ChatTurn(role: .user, content: "hi")])
        }
    }
    return 0
}
