import ArgumentParser
import Foundation
import Inference
import Essentials

/// `qwentty sentiment`: classify texts with the chat model itself, or evaluate it on a labelled set.
struct SentimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sentiment",
        abstract: "Classify the sentiment of texts with the chat model (no second model), or evaluate it."
    )

    @OptionGroup var modelOption: ModelOption
    @Argument(help: "Texts to classify (or use --file / --jsonl / --eval).")
    var texts: [String] = []
    @Option(help: "A file with one text per line.")
    var file: String?
    @Flag(help: "Read {\"text\": …} lines from stdin (or --file) and write one JSON result per line.")
    var jsonl = false
    @Option(help: "A TSV file of text<TAB>label lines: print accuracy (overall and per language), per-class precision/recall and the confusion matrix.")
    var eval: String?
    @Option(help: "With --eval: the whole set (all), or the half used to tune the prompt (tune) or the other half (test).")
    var half: SentimentEvaluation.Half = .all
    @Option(help: "With --eval: also write one JSON line per message (text, label, predicted, raw scores, probabilities).")
    var evalOut: String?
    @Option(help: "A sentiment prompt as JSON (instruction, request, labels with words and bias, examples) instead of the built-in one.")
    var prompt: String?
    @Option(help: "Comma-separated labels, with a plain instruction and no examples (default: the built-in prompt's).")
    var labels: String?
    @Flag(help: "The short built-in prompt (its definitions, no examples): what the chat uses on a model whose context the full one does not suit.")
    var shortPrompt = false
    @Flag(help: "Prefill the whole prompt for every text (for measuring what the prefix cache saves).")
    var noPrefixCache = false
    @OptionGroup var threadsOption: ThreadsOption

    func run() throws {
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads, quantizeTo: modelOption.quantization(), cachePrecision: modelOption.cachePrecision(), progress: modelOption.quantizationProgress())
        guard let template = loaded.template else {
            throw UserFacingError("\(loaded.source.path): the model has no chat format, which the sentiment prompt needs")
        }
        let classifier: SentimentClassifier
        if let prompt = try chosenPrompt() {
            classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template, prompt: prompt)
        } else {
            // The chat's own choice, and its word when it is not the full prompt.
            let chosen = SentimentClassifier.forChat(model: loaded.model, tokenizer: loaded.tokenizer, template: template)
            guard let made = chosen.classifier else { throw UserFacingError("\(loaded.source.path): \(chosen.note ?? "no sentiment prompt fits this model")") }
            if let note = chosen.note { FileHandle.standardError.write(Data((note + "\n").utf8)) }
            classifier = made
        }
        // The fixed prompt once, before the clock starts: each latency shown is then one message's.
        if !noPrefixCache { try classifier.preparePrefix() }
        if let eval { return try evaluate(classifier, path: eval) }

        var inputs: [String] = texts
        if let file {
            let content = try String(contentsOfFile: file, encoding: .utf8)
            inputs += content.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        } else if jsonl || texts.isEmpty {
            while let line = readLine() { inputs.append(line) }
        }
        for (number, input) in inputs.enumerated() {
            var text = input
            if jsonl {
                guard let object = try? JSONSerialization.jsonObject(with: Data(input.utf8)) as? [String: Any],
                      let value = object["text"] as? String else {
                    writeOut(try JSONOutput.line(JSONLineError.expectedText(line: number + 1)))
                    continue
                }
                text = value
            }
            let r = try classifier.classify(text, usePrefixCache: !noPrefixCache)
            if jsonl {
                let probabilities = Dictionary(zip(classifier.labels, r.probabilities.map { JSONNumber($0) }), uniquingKeysWith: { a, _ in a })
                writeOut(try JSONOutput.line(ResultLine(label: r.label, probability: JSONNumber(r.probability),
                                                        probabilities: probabilities,
                                                        latency_ms: JSONNumber(r.latencySeconds * 1000, decimals: 2))))
            } else {
                writeOut(String(format: "%@\t%.3f\t%.1f ms\t", r.label, r.probability, r.latencySeconds * 1000)
                    + TerminalSanitizer.sanitize(text, keepNewlines: false) + "\n")
            }
        }
    }

    /// The prompt the options name; nil: the built-in one the chat would use.
    private func chosenPrompt() throws -> SentimentPrompt? {
        guard [prompt != nil, labels != nil, shortPrompt].filter({ $0 }).count <= 1 else {
            throw UserFacingError("--prompt, --labels and --short-prompt each choose the prompt: use one")
        }
        if let prompt { return try SentimentPrompt.load(path: prompt) }
        if shortPrompt { return .short }
        guard let labels else { return nil }
        let names = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let list = names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return SentimentPrompt(instruction: "You are a sentiment classifier. Read the user's message and answer with exactly one word: \(list).",
                               request: SentimentPrompt.builtIn.request, labels: names.map { SentimentPrompt.Label(name: $0) })
    }

    private func evaluate(_ classifier: SentimentClassifier, path: String) throws {
        let content: String
        do {
            content = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw UserFacingError("\(path): cannot be read as UTF-8 text (\(error.localizedDescription))")
        }
        var evaluation = try SentimentEvaluation(content: content, path: path, labels: classifier.labels, half: half)
        var details: FileHandle?
        if let evalOut {
            guard FileManager.default.createFile(atPath: evalOut, contents: nil), let handle = FileHandle(forWritingAtPath: evalOut) else {
                throw UserFacingError("\(evalOut): cannot be written")
            }
            details = handle
        }
        defer { try? details?.close() }
        for item in evaluation.items {
            let r = try classifier.classify(item.text, usePrefixCache: !noPrefixCache)
            let predicted = classifier.labels.firstIndex(of: r.label) ?? 0
            evaluation.record(item, predicted: predicted, latencySeconds: r.latencySeconds)
            if let details {
                let record = EvalRecord(line: item.line, text: item.text, label: classifier.labels[item.label],
                                        language: item.language.rawValue, predicted: r.label, scores: r.scores.map { JSONNumber($0) },
                                        probabilities: r.probabilities.map { JSONNumber($0) })
                try details.write(contentsOf: Data(try JSONOutput.line(record).utf8))
            }
        }
        writeOut(evaluation.report())
    }

    /// One line of `--jsonl`.
    private struct ResultLine: Encodable {
        let label: String
        let probability: JSONNumber
        let probabilities: [String: JSONNumber]
        let latency_ms: JSONNumber
    }

    /// One line of `--eval-out`.
    private struct EvalRecord: Encodable {
        let line: Int
        let text: String
        let label: String
        let language: String
        let predicted: String
        let scores: [JSONNumber]
        let probabilities: [JSONNumber]
    }
}

extension SentimentEvaluation.Half: ExpressibleByArgument {}
