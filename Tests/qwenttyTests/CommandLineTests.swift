import Foundation
import ModelFiles
import TestSupport
import Transformer
import XCTest

/// The `qwentty` binary, driven as a user would.
final class CommandLineTests: XCTestCase {
    typealias Output = ProcessOutput

    private var binary: URL {
        // XCTest runs from the build products folder, where `swift test` also put the executable.
        Bundle.main.bundleURL.appendingPathComponent("qwentty")
    }

    private func qwentty(_ arguments: [String], stdin: String? = nil, in directory: URL = TestPaths.packageRoot) throws -> Output {
        try ProcessOutput.run(binary, arguments, stdin: stdin, in: directory)
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    /// `run --raw --temp 0` on the float fixtures streams exactly the tokens `transformers` chose, and
    /// the first token's logprob matches the reference's to 1e-3 (same reasoning as the parity tests).
    func testGreedyRunReproducesTransformers() throws {
        let fixtures = try ReferenceFixtures.load()
        for reference in fixtures.models where reference.exact && reference.type == "F32" {
            let result = try qwentty(["run", "-m", TestPaths.fixture(reference.file), "--raw", "-p", fixtures.prompt_text,
                                      "--temp", "0", "--repeat-penalty", "1", "-n", "32", "--json", "--logprobs", "3"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = try jsonLines(result.stdout)
            let tokens = lines.filter { $0["done"] == nil && $0["id"] != nil }
            let ids = tokens.compactMap { ($0["id"] as? NSNumber)?.int32Value }
            // The reference decodes 32 tokens regardless of stop tokens; qwentty stops at one.
            let stops: Set<Int32> = [400, 402]
            let expected = Array(reference.greedy.prefix { !stops.contains($0) })
            XCTAssertEqual(ids, expected, reference.file)
            let firstLogprob = try XCTUnwrap((tokens.first?["logprob"] as? NSNumber)?.doubleValue)
            XCTAssertEqual(firstLogprob, reference.top_logprobs[0][0][1], accuracy: 1e-3)
            XCTAssertEqual((tokens.first?["top"] as? [Any])?.count, 3)
            // --temp 0 alone is plain greedy too: no repetition penalty unless one is asked for.
            let plain = try qwentty(["run", "-m", TestPaths.fixture(reference.file), "--raw", "-p", fixtures.prompt_text,
                                     "--temp", "0", "-n", "32", "--json"])
            XCTAssertEqual(try jsonLines(plain.stdout).compactMap { ($0["id"] as? NSNumber)?.int32Value }, expected, "\(reference.file) without --repeat-penalty")
            let done = try XCTUnwrap(lines.last)
            XCTAssertEqual(done["done"] as? Bool, true)
            let stats = try XCTUnwrap(done["stats"] as? [String: Any])
            XCTAssertEqual((stats["prompt_tokens"] as? NSNumber)?.intValue, reference.prompt.count)
            XCTAssertEqual((stats["eval_tokens"] as? NSNumber)?.intValue, ids.count)
            for key in ["prompt_ms", "eval_ms", "prompt_tokens_per_s", "eval_tokens_per_s", "time_to_first_token_ms"] {
                XCTAssertNotNil(stats[key], key)
            }
        }
    }

    /// `run --temp 0` on the real model is the model's own greedy path: on the "code" chat of the
    /// real-model references it writes transformers' 40 tokens (a default repetition penalty of 1.05 changes
    /// the 13th token here, which is how the bug showed). With an F32 KV cache: with the default F16 one,
    /// the 6th token is a 0.01-nat tie that falls the other way (the parity test reports it).
    func testTempZeroIsPlainGreedyOnTheRealModel() throws {
        if let problem = TestPaths.realModelProblem { throw RealModelChatTests.Missing(description: problem) }
        struct Reference: Decodable {
            struct Message: Decodable { let role: String; let content: String }
            struct Chat: Decodable { let name: String; let messages: [Message]; let hf_greedy: [Int32] }
            let chats: [Chat]
        }
        let reference = try TestPaths.loadJSON(Reference.self, "real-model-reference.json")
        let chat = try XCTUnwrap(reference.chats.first { $0.name == "code" })
        let result = try qwentty(["run", "-m", TestPaths.realModel, "-p", try XCTUnwrap(chat.messages.last?.content),
                                  "--temp", "0", "-n", "\(chat.hf_greedy.count)", "--json", "--kv-cache", "f32"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let ids = try jsonLines(result.stdout).compactMap { ($0["id"] as? NSNumber)?.int32Value }
        XCTAssertEqual(ids, chat.hf_greedy)
    }

    /// Runs the binary with `standardOutput` as its stdout (a file or a pipe the test controls) and
    /// `input` on stdin; after `afterStart` (which may close the reading end). Returns how it ended and
    /// its stderr.
    private func runWithStdout(_ arguments: [String], standardOutput: Any, input: String = "",
                               afterStart: () throws -> Void = {}) throws -> (reason: Process.TerminationReason, status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let stdin = Pipe(), err = Pipe()
        process.standardInput = stdin
        process.standardOutput = standardOutput
        process.standardError = err
        try process.run()
        try afterStart()
        stdin.fileHandleForWriting.write(Data(input.utf8))  // well under a pipe's buffer
        try stdin.fileHandleForWriting.close()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, message)
    }

    /// Output that cannot be written is one line and exit status 1, never a trap: stdout on a full disk.
    func testFullDiskOnStdoutIsOneLine() throws {
        let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
        let result = try runWithStdout(["tokenize", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "Hello, world!"], standardOutput: full)
        XCTAssertEqual(result.reason, .exit, "not killed by a signal")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "Error: cannot write to standard output: No space left on device\n")
    }

    /// A reader that goes away (`| head`) with SIGPIPE ignored (inherited from a parent that ignores it):
    /// EPIPE ends the program quietly with status 0, no trap and no message.
    func testClosedPipeWithSigpipeIgnoredExitsQuietly() throws {
        let previous = signal(SIGPIPE, SIG_IGN)  // inherited by the child across exec
        defer { signal(SIGPIPE, previous) }
        let out = Pipe()
        let result = try runWithStdout(["tokenize", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--jsonl"], standardOutput: out,
                                       input: String(repeating: "{\"text\": \"hello world\"}\n", count: 200)) {
            try out.fileHandleForReading.close()  // nobody reads: the first write fails with EPIPE
        }
        XCTAssertEqual(result.reason, .exit, "not killed by a signal")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stderr, "")
    }

    func testChatRefusesAZeroReplyLimit() throws {
        let result = try qwentty(["chat", "-n", "0"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("-n must be a whole number of tokens, at least 1"), result.stderr)
    }

    /// `run` and `chat` take the same sampling flags, checked by the one range each has (the one `/set`,
    /// the config file and generation_config.json use), and say what is expected.
    func testSamplingFlagsAreSharedAndChecked() throws {
        for command in ["run", "chat"] {
            let result = try qwentty([command, "-p", "hi", "--top-p", "2"].filter { command == "run" || ($0 != "-p" && $0 != "hi") })
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("--top-p must be a number above 0 and at most 1 (1 disables)"), "\(command): \(result.stderr)")
            let tiny = try qwentty([command, "-c", "8"] + (command == "run" ? ["-p", "hi"] : []))
            XCTAssertTrue(tiny.stderr.contains("-c must be a token count of at least 16"), "\(command): \(tiny.stderr)")
            let help = try qwentty([command, "--help"])
            for flag in ["--top-k", "--top-p", "--min-p", "--repeat-penalty", "--temp", "--seed"] {
                XCTAssertTrue(help.stdout.contains(flag), "\(command) --help lists \(flag)")
            }
        }
    }

    func testChatRunOnBundledDemoModel() throws {
        let result = try qwentty(["run", "-p", "Hello!", "-n", "8", "--seed", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("prompt eval:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("seed 3"), result.stderr)
        // Same seed, same text.
        XCTAssertEqual(try qwentty(["run", "-p", "Hello!", "-n", "8", "--seed", "3"]).stdout, result.stdout)
    }

    func testTokenizeJSONLKeepsLinesAligned() throws {
        let input = "{\"text\": \"Hello, world!\"}\nnot json\n{\"text\": \"<|im_start|>\"}\n"
        let result = try qwentty(["tokenize", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--jsonl"], stdin: input)
        XCTAssertEqual(result.status, 1)
        let lines = try jsonLines(result.stdout)
        XCTAssertEqual(lines.count, 3)
        XCTAssertNotNil(lines[0]["ids"])
        XCTAssertTrue((lines[1]["error"] as? String)?.contains("line 2") ?? false)
        // Without --special, "<|im_start|>" is text: several ordinary tokens, not the control id 401.
        let ids = (lines[2]["ids"] as? [NSNumber])?.map(\.intValue) ?? []
        XCTAssertGreaterThan(ids.count, 1)
        XCTAssertFalse(ids.contains(401))
    }

    func testTokenizeOnTheRealVocabulary() throws {
        guard let vocab = TestPaths.sharedTokenizerFile("ggml-vocab-qwen2.gguf") else {
            throw XCTSkip(TestPaths.missingShared("ggml-vocab-qwen2.gguf"))
        }
        // Expected ids from llama.cpp's vectors ("Hello world" → 9707 1879).
        XCTAssertEqual(try qwentty(["tokenize", "-m", vocab, "Hello world"]).stdout, "9707 1879\n")
        XCTAssertEqual(try qwentty(["tokenize", "-m", vocab, "--special", "<|im_start|>"]).stdout, "151644\n")
        let info = try qwentty(["info", "-m", vocab])
        XCTAssertEqual(info.status, 0)
        XCTAssertTrue(info.stdout.contains("vocabulary only"), info.stdout)
        XCTAssertTrue(info.stdout.contains("151936 tokens"), info.stdout)
    }

    func testCorruptFileGivesOneLineError() throws {
        let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-cli-corrupt.gguf").path
        let full = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("tiny-qwen2-q8_0.gguf")))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))
        for command in ["info", "run"] {
            let result = try qwentty([command, "-m", path, "-p", "x"].filter { command == "run" || ($0 != "-p" && $0 != "x") })
            XCTAssertNotEqual(result.status, 0)
            let message = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertTrue(message.contains(path) && message.contains("truncated"), message)
        }
    }

    /// Strings from the file reach error messages (an architecture name, the tokenizer's model): escape
    /// sequences in them that would retitle the window and clear the screen arrive as inert, visible text.
    func testEscapeSequencesFromTheFileAreSanitisedInErrors() throws {
        let payload = "evil\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}31m\u{202E}"
        var files: [String] = []
        for (key, name) in [("general.architecture", "escape-architecture"), ("tokenizer.ggml.model", "escape-tokenizer")] {
            files.append(try CraftedModelFile.rewrite("tiny-qwen2-f32.gguf", as: name) { metadata in
                metadata = metadata.map { $0.0 == key ? (key, .string(payload)) : $0 }
            })
        }
        for path in files {
            let result = try qwentty(["run", "-m", path, "-p", "hi"])
            XCTAssertNotEqual(result.status, 0)
            let raw = result.stderr.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F ... 0x9F).contains($0.value) || $0 == "\u{202E}" }
            XCTAssertTrue(raw.isEmpty, "raw control characters reached the terminal: \(result.stderr.debugDescription)")
            XCTAssertTrue(result.stderr.contains("evil␛]0;owned␇␛[2J"), result.stderr)
            XCTAssertEqual(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, result.stderr)
        }
    }

    /// A 1 MB file whose metadata claims 128 heads of 512 and a million positions would need 512 GiB of
    /// (F16) KV cache: refused before anything is allocated, in one line naming the figures.
    func testMemoryBombIsRefusedBeforeAllocating() throws {
        let path = try CraftedModelFile.qwen2(as: "memory-bomb", hidden: 1, heads: 128, kvHeads: 128, headSize: 512, context: 1 << 20)
        XCTAssertLessThan(try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int), 2 << 20)
        let result = try qwentty(["run", "-m", path, "-c", "1048576", "-p", "hi"])
        XCTAssertNotEqual(result.status, 0)
        let message = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        for part in ["KV caches 768.00 GiB for 2 × 1048576 + 1048576 positions", "is available", "lower --ctx-size"] {
            XCTAssertTrue(message.contains(part), message)
        }
        // A head wider than any Qwen model's (the RoPE tables grow with it) is refused on its own.
        let wide = try CraftedModelFile.qwen2(as: "wide-head", hidden: 1, heads: 1, kvHeads: 1, headSize: 65536)
        let refused = try qwentty(["run", "-m", wide, "-p", "hi"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("head size 65536"), refused.stderr)
    }

    func testPromptLongerThanContext() throws {
        let result = try qwentty(["run", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "-c", "16",
                                  "-p", String(repeating: "many words here ", count: 20)])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("context holds 16"), result.stderr)
    }

    /// Without -m, a model the user put in ./models is chosen over the bundled demo.
    func testDefaultModelPrefersTheUsersOverTheDemo() throws {
        let folder = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-models-\(getpid())")
        let models = folder.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(atPath: TestPaths.packageRoot.appendingPathComponent("models/qwentty-demo-q8_0.gguf").path,
                                         toPath: models.appendingPathComponent("qwentty-demo-q8_0.gguf").path)
        var result = try qwentty(["info"], in: folder)
        XCTAssertTrue(result.stdout.contains("qwentty demo"), result.stdout + result.stderr)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("tiny-qwen2-q8_0.gguf"),
                                         toPath: models.appendingPathComponent("zz-my-model.gguf").path)
        result = try qwentty(["info"], in: folder)
        XCTAssertTrue(result.stdout.contains("tiny random qwen2"), "sorted after the demo, still chosen: " + result.stdout)
    }

    func testInfoDescribesAFixture() throws {
        let result = try qwentty(["info", "-m", TestPaths.fixture("tiny-qwen3-q4_0.gguf")])
        XCTAssertEqual(result.status, 0)
        for expected in ["architecture:  qwen3", "head size 32", "Q4_0", "separate output.weight", "think"] {
            XCTAssertTrue(result.stdout.contains(expected), "\(expected) in \(result.stdout)")
        }
    }
}

extension CommandLineTests {
    /// `quantize` writes what the `gguf` package writes: Q8_0 and Q4_0 copies of the F32 fixture are
    /// tensor-for-tensor identical to the fixtures gguf-py quantised from the same weights.
    func testQuantizeMatchesTheGGUFPackage() throws {
        for (type, fixture) in [("Q8_0", "tiny-qwen2-q8_0.gguf"), ("Q4_0", "tiny-qwen3-q4_0.gguf")] {
            let source = fixture.replacingOccurrences(of: type.lowercased(), with: "f32")
            let out = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-quantized-\(type).gguf").path
            let result = try qwentty(["quantize", TestPaths.fixture(source), out, "--type", type.lowercased()])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stderr.contains("relative RMSE"), result.stderr)
            let ours = try GGUFFile(path: out), theirs = try GGUFFile(path: TestPaths.fixture(fixture))
            XCTAssertEqual(ours.tensors.count, theirs.tensors.count)
            for t in theirs.tensors {
                let o = try XCTUnwrap(ours.tensor(named: t.name), t.name)
                XCTAssertEqual(o.type, t.type, t.name)
                XCTAssertEqual(Array(UnsafeRawBufferPointer(start: ours.data(of: o), count: o.byteCount)),
                               Array(UnsafeRawBufferPointer(start: theirs.data(of: t), count: t.byteCount)), t.name)
            }
            XCTAssertEqual(try qwentty(["run", "-m", out, "-p", "hi", "-n", "2"]).status, 0)
        }
    }

    func testQuantizeRefusesBadRequests() throws {
        let f32 = TestPaths.fixture("tiny-qwen2-f32.gguf")
        let unknown = try qwentty(["quantize", f32, "/tmp/qwentty-x.gguf", "--type", "Q3_K"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown --type"), unknown.stderr)
        let same = try qwentty(["quantize", f32, f32, "--type", "Q8_0"])
        XCTAssertNotEqual(same.status, 0)
        XCTAssertTrue(same.stderr.contains("different file"), same.stderr)
        // One NaN weight: a one-line refusal naming the tensor and row, and no output file.
        let damaged = try CraftedModelFile.rewrite("tiny-qwen2-f32.gguf", as: "nan-weight", tensors: { info, bytes in
            if info.name == "blk.0.ffn_up.weight" { withUnsafeBytes(of: Float.nan) { bytes.replaceSubrange(8 ..< 12, with: $0) } }
        })
        let output = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-nan-q8.gguf").path
        try? FileManager.default.removeItem(atPath: output)
        let nan = try qwentty(["quantize", damaged, output, "--type", "Q8_0"])
        XCTAssertEqual(nan.status, 1, nan.stderr)
        XCTAssertTrue(nan.stderr.contains("blk.0.ffn_up.weight") && nan.stderr.contains("row 0 holds NaN"), nan.stderr)
        XCTAssertEqual(nan.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, nan.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    /// A FIFO given as the model does not hang the program waiting for a writer.
    func testFIFOAsModelIsRefused() throws {
        let fifo = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-fifo-\(getpid())").path
        unlink(fifo)
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        defer { unlink(fifo) }
        let result = try qwentty(["run", "-m", fifo, "-p", "hi"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("a FIFO, not a regular file"), result.stderr)
    }

    /// Token counts no context can hold are refused before anything is allocated.
    func testBenchRefusesImpossibleSizes() throws {
        let model = TestPaths.fixture("tiny-qwen2-q8_0.gguf")
        for arguments in [["-n", "9223372036854775807"], ["-p", "1000000000000"], ["-d", "1048577"]] {
            let result = try qwentty(["bench", "-m", model] + arguments)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("longer than any model's context"), result.stderr)
        }
        let tooLong = try qwentty(["bench", "-m", model, "-p", "40000", "-n", "0"])
        XCTAssertNotEqual(tooLong.status, 0)
        XCTAssertTrue(tooLong.stderr.contains("context holds"), tooLong.stderr)
    }

    /// A model whose logits are all NaN (a NaN output norm): `run --json` still writes valid JSON, with
    /// null where a number is not finite.
    func testJSONOutputStaysValidWithNaNLogits() throws {
        let broken = try CraftedModelFile.rewrite("tiny-qwen2-f32.gguf", as: "nan-norm", tensors: { info, bytes in
            guard info.name == "output_norm.weight" else { return }
            for offset in stride(from: 0, to: bytes.count, by: 4) {
                withUnsafeBytes(of: Float.nan) { bytes.replaceSubrange(offset ..< offset + 4, with: $0) }
            }
        })
        let result = try qwentty(["run", "-m", broken, "--raw", "-p", "hello", "-n", "3", "--json", "--temp", "0", "--logprobs", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try jsonLines(result.stdout)
        XCTAssertFalse(lines.isEmpty)
        XCTAssertTrue(lines.dropLast().allSatisfy { $0["logprob"] is NSNull }, result.stdout)
    }
}

extension CommandLineTests {
    /// `bench --json` reports every test with its samples; `-d` names the history the tests ran after.
    func testBenchReportsEachTest() throws {
        let model = TestPaths.fixture("tiny-qwen2-q8_0.gguf")
        let result = try qwentty(["bench", "-m", model, "-p", "16,8", "-n", "4", "-d", "24", "-r", "2", "--json", "-t", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tests = try XCTUnwrap(report["results"] as? [[String: Any]])
        XCTAssertEqual(tests.map { $0["test"] as? String }, ["pp16 @ d24", "pp8 @ d24", "tg4 @ d24"])
        // Progress goes to stderr (not a terminal here: one line per finished test), never into the JSON.
        XCTAssertTrue(result.stderr.contains("warming up") && result.stderr.contains("test 3/3: tg4 @ d24"), result.stderr)
        for bad in ["16,", "x", "16,-1"] {
            let refused = try qwentty(["bench", "-m", model, "-p", bad])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains("comma-separated list"), refused.stderr)
        }
        for test in tests {
            XCTAssertEqual((test["samples"] as? [Double])?.count, 2)
            XCTAssertGreaterThan(test["median"] as? Double ?? 0, 0)
        }
        // A decoded token of this 2-layer model: 8 parallel regions per layer (q, k, v, attention, output,
        // gate, up, down) and the output head; counted even with one thread.
        XCTAssertEqual(report["regions_per_token"] as? Int, 2 * 8 + 1)
        XCTAssertNotEqual(try qwentty(["bench", "-m", model, "-d", "-1"]).status, 0, "a negative depth is refused")
    }

    func testSentimentCommand() throws {
        let model = TestPaths.fixture("tiny-qwen3-f32.gguf")
        let jsonl = try qwentty(["sentiment", "-m", model, "--jsonl"], stdin: "{\"text\": \"I love it\"}\n{\"text\": \"不好\"}\n")
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = try jsonLines(jsonl.stdout)
        XCTAssertEqual(lines.count, 2)
        for line in lines {
            let probabilities = try XCTUnwrap(line["probabilities"] as? [String: Double])
            XCTAssertEqual(Set(probabilities.keys), ["Positive", "Negative", "Neutral"])
            XCTAssertEqual(probabilities.values.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertNotNil(line["latency_ms"])
        }
        let plain = try qwentty(["sentiment", "-m", model, "Great!", "--labels", "Good,Bad"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.hasPrefix("Good\t") || plain.stdout.hasPrefix("Bad\t"), plain.stdout)
    }

    /// `--eval` on the first lines of the team's evaluation set: the report's parts are there and add up.
    func testSentimentEvaluation() throws {
        let set = try String(contentsOfFile: TestPaths.packageRoot.appendingPathComponent("data/sentiment-eval.tsv").path, encoding: .utf8)
        let lines = set.split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertGreaterThanOrEqual(lines.count, 300)
        let sample = lines.enumerated().filter { $0.offset % 50 == 0 }.map(\.element).joined(separator: "\n")
        let path = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-eval-sample.tsv").path
        try sample.write(toFile: path, atomically: false, encoding: .utf8)
        let result = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--eval", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("of \(sample.split(separator: "\n").count)), mean latency"), result.stdout)
        for part in ["precision", "recall", "confusion", "Positive", "Negative", "Neutral"] {
            XCTAssertTrue(result.stdout.contains(part), part)
        }
        for part in ["English: ", "Chinese: "] { XCTAssertTrue(result.stdout.contains(part), part) }

        // The test half, with one JSON line per message.
        let details = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-eval-details.jsonl").path
        let half = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--eval", path, "--half", "test", "--eval-out", details])
        XCTAssertEqual(half.status, 0, half.stderr)
        let records = try jsonLines(try String(contentsOfFile: details, encoding: .utf8))
        XCTAssertTrue(half.stdout.contains("of \(records.count)), mean latency"), half.stdout)
        XCTAssertLessThan(records.count, sample.split(separator: "\n").count)
        for record in records {
            XCTAssertEqual((record["scores"] as? [Double])?.count, 3)
            XCTAssertNotNil(record["text"] as? String)
            XCTAssertNotNil(record["predicted"] as? String)
        }

        // A prompt from a file; a broken one is a one-line error.
        let prompt = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-prompt.json").path
        try #"{"instruction": "Say Yes or No.", "request": "", "labels": [{"name": "Yes"}, {"name": "No", "words": ["No", "no"]}], "examples": [{"text": "ok", "label": "Yes"}]}"#
            .write(toFile: prompt, atomically: false, encoding: .utf8)
        let custom = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--prompt", prompt, "fine"])
        XCTAssertEqual(custom.status, 0, custom.stderr)
        XCTAssertTrue(custom.stdout.hasPrefix("Yes\t") || custom.stdout.hasPrefix("No\t"), custom.stdout)
        try "{\"instruction\": 1}".write(toFile: prompt, atomically: false, encoding: .utf8)
        let broken = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--prompt", prompt, "fine"])
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("not a sentiment prompt"), broken.stderr)

        let bad = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--eval", TestPaths.fixture("reference.json")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("expected text<TAB>label"), bad.stderr)
    }
}

extension CommandLineTests {
    /// `-m DIR`: a Hugging Face folder (save_pretrained of the tiny fixtures, whose weights are the F32
    /// GGUF files') runs like the file: `run --raw --temp 0` streams the tokens `transformers` chose.
    func testHuggingFaceFolderRunsLikeItsGGUF() throws {
        let fixtures = try ReferenceFixtures.load()
        for arch in ["qwen2", "qwen3"] {
            let reference = try XCTUnwrap(fixtures.models.first { $0.file == "tiny-\(arch)-f32.gguf" })
            let result = try qwentty(["run", "-m", TestPaths.fixture("hf-tiny-\(arch)"), "--raw", "-p", fixtures.prompt_text,
                                      "--temp", "0", "-n", "32", "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let ids = try jsonLines(result.stdout).compactMap { ($0["id"] as? NSNumber)?.int32Value }
            let stops: Set<Int32> = [400, 402]
            XCTAssertEqual(ids, Array(reference.greedy.prefix { !stops.contains($0) }), arch)
        }
        // --quant: a folder quantised at load runs; a GGUF file and an unknown type are refused in one line.
        let quantised = try qwentty(["run", "-m", TestPaths.fixture("hf-tiny-qwen2"), "--quant", "q8_0", "--raw", "-p", "hi", "-n", "2", "--temp", "0"])
        XCTAssertEqual(quantised.status, 0, quantised.stderr)
        let gguf = try qwentty(["run", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "--quant", "Q8_0", "-p", "hi"])
        XCTAssertTrue(gguf.status != 0 && gguf.stderr.contains("quantising at load is for Hugging Face folders"), gguf.stderr)
        let unknown = try qwentty(["run", "-m", TestPaths.fixture("hf-tiny-qwen2"), "--quant", "Q9", "-p", "hi"])
        XCTAssertTrue(unknown.status != 0 && unknown.stderr.contains("unknown --quant 'Q9'"), unknown.stderr)
        // info describes a folder as it describes a GGUF file, without loading the weights.
        let info = try qwentty(["info", "-m", TestPaths.fixture("hf-tiny-qwen2")])
        XCTAssertEqual(info.status, 0, info.stderr)
        for expected in ["Hugging Face", "architecture:  qwen2", "tied to the embedding", "F32 ×", "403 tokens", "sampling:      temp 0.7"] {
            XCTAssertTrue(info.stdout.contains(expected), "\(expected) in \(info.stdout)")
        }
        let empty = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let refused = try qwentty(["run", "-m", empty, "-p", "hi"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("config.json") && !refused.stderr.contains("\n\n"), refused.stderr)
    }
}

extension CommandLineTests {
    /// `convert` writes a folder as the GGUF file the fixture script wrote with gguf-py from the same
    /// weights: F32 and Q8_0 tensor for tensor identical (so the `transformers` references of those files
    /// hold), the same shape and tokenizer; the F32 file streams transformers' greedy tokens, as the folder does.
    func testConvertWritesTheFolderAsGGUF() throws {
        let fixtures = try ReferenceFixtures.load()
        for arch in ["qwen2", "qwen3"] {
            for type in ["F32", "Q8_0"] {
                let out = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-convert-\(arch)-\(type).gguf").path
                let result = try qwentty(["convert", TestPaths.fixture("hf-tiny-\(arch)"), out, "--type", type])
                XCTAssertEqual(result.status, 0, result.stderr)
                XCTAssertTrue(result.stderr.contains("wrote \(out)"), result.stderr)
                let ours = try GGUFFile(path: out), theirs = try GGUFFile(path: TestPaths.fixture("tiny-\(arch)-\(type.lowercased()).gguf"))
                XCTAssertEqual(ours.tensors.map(\.name).sorted(), theirs.tensors.map(\.name).sorted(), "\(arch) \(type)")
                for t in theirs.tensors {
                    let o = try XCTUnwrap(ours.tensor(named: t.name), t.name)
                    XCTAssertEqual(o.type, t.type, t.name)
                    XCTAssertEqual(o.dims, t.dims, t.name)
                    XCTAssertEqual(Array(UnsafeRawBufferPointer(start: ours.data(of: o), count: o.byteCount)),
                                   Array(UnsafeRawBufferPointer(start: theirs.data(of: t), count: t.byteCount)), "\(arch) \(type) \(t.name)")
                }
                var ourConfig = try ModelConfig(gguf: ours)
                ourConfig.name = try ModelConfig(gguf: theirs).name
                XCTAssertEqual(ourConfig, try ModelConfig(gguf: theirs))
                XCTAssertEqual(ours.metadata["tokenizer.ggml.tokens"]?.array?.compactMap(\.string),
                               theirs.metadata["tokenizer.ggml.tokens"]?.array?.compactMap(\.string))
                XCTAssertEqual(ours.metadata["tokenizer.ggml.merges"]?.array?.count, theirs.metadata["tokenizer.ggml.merges"]?.array?.count)
                XCTAssertEqual(ours.metadata["general.file_type"]?.int, theirs.metadata["general.file_type"]?.int)
                guard type == "F32" else { continue }
                let reference = try XCTUnwrap(fixtures.models.first { $0.file == "tiny-\(arch)-f32.gguf" })
                let run = try qwentty(["run", "-m", out, "--raw", "-p", fixtures.prompt_text, "--temp", "0", "-n", "32", "--json"])
                XCTAssertEqual(run.status, 0, run.stderr)
                let ids = try jsonLines(run.stdout).compactMap { ($0["id"] as? NSNumber)?.int32Value }
                XCTAssertEqual(ids, Array(reference.greedy.prefix { ![400, 402].contains($0) }), arch)
            }
        }
    }

    /// Q4_K_M is llama.cpp's mix: on the tiny models (rows under a K-quant block) the head takes Q6_K's
    /// fallback Q8_0, as do `attn_v` and `ffn_down` in the layers that get more bits (of two layers, the
    /// last: the first and last eighth of 2 layers are layers [] and [1]); the rest Q4_K's fallback Q5_0.
    /// The file runs and `info` names it.
    func testConvertQ4_K_MWritesLlamaCppsMix() throws {
        let out = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-convert-q4km.gguf").path
        let result = try qwentty(["convert", TestPaths.fixture("hf-tiny-qwen3"), out, "--type", "q4_k_m"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try GGUFFile(path: out)
        let types = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.type) })
        XCTAssertEqual(types["output.weight"], .q8_0)
        XCTAssertEqual(types["token_embd.weight"], .q5_0)
        XCTAssertEqual(types["blk.0.attn_v.weight"], .q5_0)
        XCTAssertEqual(types["blk.1.attn_v.weight"], .q8_0)
        XCTAssertEqual(types["blk.0.ffn_down.weight"], .q5_0)
        XCTAssertEqual(types["blk.1.ffn_down.weight"], .q8_0)
        XCTAssertEqual(types["blk.1.attn_q.weight"], .q5_0)
        XCTAssertEqual(types["blk.0.attn_norm.weight"], .f32)
        XCTAssertEqual(file.metadata["general.file_type"]?.int, 15)
        XCTAssertTrue(try qwentty(["info", "-m", out]).stdout.contains("file type:     Q4_K_M"))
        // `--quant Q4_K_M` at load chooses the same types in the same order and writes the same blocks: the
        // folder then runs exactly as the converted file (tokens and their top-5 log-probabilities).
        func tokens(_ model: [String]) throws -> [String] {
            let run = try qwentty(["run"] + model + ["--raw", "-p", "Hello, world!", "--temp", "0", "-n", "16", "--json", "--logprobs", "5"])
            XCTAssertEqual(run.status, 0, run.stderr)
            return run.stdout.split(separator: "\n").map(String.init).filter { !$0.contains("\"done\"") }
        }
        let converted = try tokens(["-m", out])
        XCTAssertEqual(converted.count, 16)
        XCTAssertEqual(try tokens(["-m", TestPaths.fixture("hf-tiny-qwen3"), "--quant", "Q4_K_M"]), converted)
    }

    func testConvertRefusesBadRequests() throws {
        let folder = TestPaths.fixture("hf-tiny-qwen2")
        let gguf = try qwentty(["convert", TestPaths.fixture("tiny-qwen2-f32.gguf"), "/tmp/qwentty-x.gguf"])
        XCTAssertTrue(gguf.status != 0 && gguf.stderr.contains("convert reads a Hugging Face model folder"), gguf.stderr)
        let unknown = try qwentty(["convert", folder, "/tmp/qwentty-x.gguf", "--type", "Q3_K_S"])
        XCTAssertTrue(unknown.status != 0 && unknown.stderr.contains("unknown --type 'Q3_K_S'"), unknown.stderr)
        let inside = try qwentty(["convert", folder, folder + "/model.gguf"])
        XCTAssertTrue(inside.status != 0 && inside.stderr.contains("outside the folder"), inside.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/model.gguf"))
    }
}

extension CommandLineTests {
    struct ConvertCheck: Decodable {
        struct Case: Decodable {
            let arch: String
            let type: String
            let fnv1a64: UInt64
            let transformers_greedy: [Int32]
            let llamacpp_greedy: [Int32]
        }
        let prompt: [Int32]
        let steps: Int
        let cases: [Case]
    }

    /// The fixture script converted both tiny folders with `qwentty convert`, ran each file in llama.cpp and
    /// found its greedy tokens equal to `transformers`' on the weights dequantised from that file
    /// (convert-check.json). This checks that `convert` still writes exactly those bytes, and that qwentty
    /// runs each file to the same tokens, or leaves them only at a near-tie (below).
    func testConvertWritesTheFilesLlamaCppWasCheckedOn() throws {
        let check = try TestPaths.loadJSON(ConvertCheck.self, "convert-check.json")
        let fixtures = try ReferenceFixtures.load()
        XCTAssertEqual(check.prompt, fixtures.models.first?.prompt)
        XCTAssertEqual(check.cases.count, 8)
        for item in check.cases {
            let label = "\(item.arch) \(item.type)"
            XCTAssertEqual(item.llamacpp_greedy, item.transformers_greedy, label)
            let out = TestPaths.temporaryDirectory.appendingPathComponent("qwentty-check-\(item.arch)-\(item.type).gguf").path
            let result = try qwentty(["convert", TestPaths.fixture("hf-tiny-\(item.arch)"), out, "--type", item.type])
            XCTAssertEqual(result.status, 0, result.stderr)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
            let hash = bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
            XCTAssertEqual(hash, item.fnv1a64, "\(label): convert no longer writes the bytes llama.cpp ran")
            let run = try qwentty(["run", "-m", out, "--raw", "-p", fixtures.prompt_text, "--temp", "0", "-n", "\(check.steps)", "--json",
                                   "--logprobs", "2"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let steps = try jsonLines(run.stdout).filter { $0["id"] != nil }
            let ids = steps.compactMap { ($0["id"] as? NSNumber)?.int32Value }
            let expected = Array(item.transformers_greedy.prefix { ![400, 402].contains($0) })
            // qwentty's 8-bit activations (like llama.cpp's) may leave transformers' path only at a near-tie:
            // where the tokens first differ, transformers' token must be qwentty's runner-up within 0.05 nat
            // (activation rounding moves these tiny models' logits by ~0.02; an arithmetic error would not
            // leave the expected token a hair behind), and not before step 8.
            guard let split = zip(ids, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
                XCTAssertEqual(ids, expected, label)
                continue
            }
            XCTAssertGreaterThanOrEqual(split, 8, "\(label): left transformers' tokens at step \(split)")
            let top = steps[split]["top"] as? [[String: Any]] ?? []
            let logprob = { (id: Int32) in top.first { ($0["id"] as? NSNumber)?.int32Value == id }.flatMap { ($0["logprob"] as? NSNumber)?.doubleValue } }
            let gap = logprob(ids[split]).flatMap { chosen in logprob(expected[split]).map { chosen - $0 } }
            XCTAssertLessThan(gap ?? .infinity, 0.05, "\(label): step \(split) is not a near-tie: \(top)")
        }
    }

    /// The sentiment prompt follows the model's context: on the tiny fixture (512 positions) the short
    /// prompt is used, and said; on a 256-position model even that does not fit, and one line says there
    /// are no badges and why.
    func testTheSentimentPromptFollowsTheModelsContext() throws {
        let short = try qwentty(["sentiment", "-m", TestPaths.fixture("tiny-qwen2-f32.gguf"), "fine"])
        XCTAssertEqual(short.status, 0, short.stderr)
        XCTAssertTrue(short.stderr.contains("Sentiment badges use the short prompt, without examples (the full one needs"), short.stderr)
        XCTAssertEqual(short.stdout.split(separator: "\n").count, 1, short.stdout)
        let small = try CraftedModelFile.rewrite("tiny-qwen2-f32.gguf", as: "context-256") { metadata in
            metadata = metadata.map { $0.0 == "qwen2.context_length" ? ($0.0, .uint32(256)) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: small) }
        let none = try qwentty(["sentiment", "-m", small, "fine"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("No sentiment badges: even the short sentiment prompt needs"), none.stderr)
        XCTAssertTrue(none.stderr.contains("this model has 256"), none.stderr)
        XCTAssertEqual(none.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, none.stderr)
    }
}
