import Foundation

/// A labelled set (`text<TAB>label` lines, `#` comments) and the tallies of a classifier run over it:
/// accuracy, per-class precision and recall, per-language accuracy and the confusion matrix.
///
/// `half` splits the set reproducibly into two halves for tuning and reporting: within each (label,
/// language) group in file order, even positions are `.tune`, odd ones `.test`. A prompt tuned on one half
/// is reported on the other, so the figure is not fitted to its own data.
public struct SentimentEvaluation {
    public struct Item: Equatable {
        public let line: Int
        public let text: String
        public let label: Int
        public let language: Language
    }

    public enum Half: String, CaseIterable, Sendable { case all, tune, test }

    /// Chinese if the text has a CJK ideograph, else English: the two languages of the team's set.
    public enum Language: String, CaseIterable, Sendable {
        case english = "English", chinese = "Chinese"
        public init(of text: String) {
            self = text.unicodeScalars.contains { (0x4E00 ... 0x9FFF).contains($0.value) || (0x3400 ... 0x4DBF).contains($0.value) }
                ? .chinese : .english
        }
    }

    public let labels: [String]
    public let items: [Item]
    /// confusion[truth][predicted]
    public private(set) var confusion: [[Int]]
    private var correctByLanguage: [Language: Int] = [:]
    private var countByLanguage: [Language: Int] = [:]
    public private(set) var latencySeconds = 0.0

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `content`; a line that is not `text<TAB>label` with a known label is an error naming it.
    public init(content: String, path: String, labels: [String], half: Half = .all) throws {
        self.labels = labels
        var all: [Item] = []
        for (number, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#") || line.allSatisfy(\.isWhitespace) { continue }
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, let truth = labels.firstIndex(where: {
                $0.caseInsensitiveCompare(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) == .orderedSame
            }) else {
                throw FormatError(description: "\(path): line \(number + 1): expected text<TAB>label with a label in \(labels.joined(separator: ", "))")
            }
            let text = String(parts[0])
            all.append(Item(line: number + 1, text: text, label: truth, language: Language(of: text)))
        }
        guard !all.isEmpty else { throw FormatError(description: "\(path): no labelled lines") }
        var seen: [String: Int] = [:]
        items = all.filter { item in
            let key = "\(item.label)/\(item.language.rawValue)"
            let position = seen[key, default: 0]
            seen[key] = position + 1
            switch half {
            case .all: return true
            case .tune: return position % 2 == 0
            case .test: return position % 2 == 1
            }
        }
        confusion = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
    }

    public mutating func record(_ item: Item, predicted: Int, latencySeconds: Double) {
        confusion[item.label][predicted] += 1
        countByLanguage[item.language, default: 0] += 1
        if predicted == item.label { correctByLanguage[item.language, default: 0] += 1 }
        self.latencySeconds += latencySeconds
    }

    public var count: Int { confusion.joined().reduce(0, +) }
    public var correct: Int { labels.indices.reduce(0) { $0 + confusion[$1][$1] } }
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : 0 }

    public func recall(_ label: Int) -> Double {
        let actual = confusion[label].reduce(0, +)
        return actual > 0 ? Double(confusion[label][label]) / Double(actual) : 0
    }

    public func precision(_ label: Int) -> Double {
        let predicted = labels.indices.reduce(0) { $0 + confusion[$1][label] }
        return predicted > 0 ? Double(confusion[label][label]) / Double(predicted) : 0
    }

    public func accuracy(_ language: Language) -> (correct: Int, count: Int) {
        (correctByLanguage[language, default: 0], countByLanguage[language, default: 0])
    }

    /// The report `qwentty sentiment --eval` prints.
    public func report() -> String {
        func pad(_ s: String, _ width: Int) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        var out = String(format: "accuracy: %.1f%% (%d of %d), mean latency %.1f ms\n", 100 * accuracy, correct, count,
                         count > 0 ? latencySeconds / Double(count) * 1000 : 0)
        for language in Language.allCases {
            let (c, n) = accuracy(language)
            if n > 0 { out += String(format: "  %@: %.1f%% (%d of %d)\n", language.rawValue, 100 * Double(c) / Double(n), c, n) }
        }
        out += "\nclass       precision  recall   support\n"
        for (i, label) in labels.enumerated() {
            out += pad(label, 12) + String(format: "%8.3f  %7.3f  %7d\n", precision(i), recall(i), confusion[i].reduce(0, +))
        }
        out += "\nconfusion (rows: true label, columns: predicted)\n" + String(repeating: " ", count: 12)
            + labels.map { pad(String($0.prefix(9)), 10) }.joined() + "\n"
        for (i, label) in labels.enumerated() {
            out += pad(label, 12) + confusion[i].map { pad(String($0), 10) }.joined() + "\n"
        }
        return out
    }
}
