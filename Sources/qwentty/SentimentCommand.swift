import ArgumentParser
import Foundation
import Inference

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
    @Option(help: "A TSV file of text<TAB>label lines: print accuracy, per-class precision/recall and the confusion matrix.")
    var eval: String?
    @Option(help: "Comma-separated labels (default Positive,Negative,Neutral).")
    var labels: String?
    @Flag(help: "Prefill the whole prompt for every text (for measuring what the prefix cache saves).")
    var noPrefixCache = false
    @OptionGroup var threadsOption: ThreadsOption

    func run() throws {
        let loaded = try LoadedModel(path: modelOption.resolvedPath(), threads: threadsOption.threads)
        guard let template = loaded.template else {
            throw UserFacingError("\(loaded.file.path): the model has no chat format, which the sentiment prompt needs")
        }
        let labelList = labels.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? SentimentClassifier.defaultLabels
        let classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer, template: template, labels: labelList)
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
                    writeOut("{\"error\":\"line \(number + 1): expected a JSON object with a \\\"text\\\" string\"}\n")
                    continue
                }
                text = value
            }
            let r = try classifier.classify(text, usePrefixCache: !noPrefixCache)
            if jsonl {
                let probabilities = zip(classifier.labels, r.probabilities).map { "\(jsonString($0)):\($1)" }.joined(separator: ",")
                writeOut("{\"label\":\(jsonString(r.label)),\"probability\":\(r.probability),\"probabilities\":{\(probabilities)},"
                    + "\"latency_ms\":" + String(format: "%.2f", r.latencySeconds * 1000) + "}\n")
            } else {
                writeOut(String(format: "%@\t%.3f\t%.1f ms\t", r.label, r.probability, r.latencySeconds * 1000)
                    + TerminalSanitizer.sanitize(text, keepNewlines: false) + "\n")
            }
        }
    }

    private func evaluate(_ classifier: SentimentClassifier, path: String) throws {
        let content = try String(contentsOfFile: path, encoding: .utf8)
        let labels = classifier.labels
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        var latency = 0.0
        var count = 0
        for (number, line) in content.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, let truth = labels.firstIndex(where: { $0.caseInsensitiveCompare(parts[1].trimmingCharacters(in: .whitespaces)) == .orderedSame }) else {
                throw UserFacingError("\(path): line \(number + 1): expected text<TAB>label with a label in \(labels.joined(separator: ", "))")
            }
            let r = try classifier.classify(String(parts[0]), usePrefixCache: !noPrefixCache)
            guard let predicted = labels.firstIndex(of: r.label) else { continue }
            confusion[truth][predicted] += 1
            latency += r.latencySeconds
            count += 1
        }
        guard count > 0 else { throw UserFacingError("\(path): no labelled lines") }
        let correct = labels.indices.reduce(0) { $0 + confusion[$1][$1] }
        writeOut(String(format: "accuracy: %.1f%% (%d of %d), mean latency %.1f ms\n\n", 100 * Double(correct) / Double(count), correct, count, latency / Double(count) * 1000))
        writeOut("class       precision  recall   support\n")
        for (i, label) in labels.enumerated() {
            let predicted = labels.indices.reduce(0) { $0 + confusion[$1][i] }
            let actual = confusion[i].reduce(0, +)
            let precision = predicted > 0 ? Double(confusion[i][i]) / Double(predicted) : 0
            let recall = actual > 0 ? Double(confusion[i][i]) / Double(actual) : 0
            writeOut(label.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%8.3f  %7.3f  %7d\n", precision, recall, actual))
        }
        writeOut("\nconfusion (rows: true label, columns: predicted)\n" + String(repeating: " ", count: 12)
            + labels.map { $0.prefix(9).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + "\n")
        for (i, label) in labels.enumerated() {
            writeOut(label.padding(toLength: 12, withPad: " ", startingAt: 0)
                + confusion[i].map { String($0).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + "\n")
        }
    }
}
