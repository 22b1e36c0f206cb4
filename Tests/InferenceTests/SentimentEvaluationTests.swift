import Inference
import XCTest

final class SentimentEvaluationTests: XCTestCase {
    private let labels = ["Positive", "Negative", "Neutral"]
    private let set = """
    # comment
    good one\tPositive
    好\tPositive
    great two\tpositive
    bad one\tNegative
    bad two\tNegative
    fact\tNeutral

    """

    /// The halves split each (label, language) group alternately in file order, so both halves keep the
    /// set's balance; together they are the whole set.
    func testHalvesAlternateWithinEachGroup() throws {
        let all = try SentimentEvaluation(content: set, path: "set.tsv", labels: labels)
        let tune = try SentimentEvaluation(content: set, path: "set.tsv", labels: labels, half: .tune)
        let test = try SentimentEvaluation(content: set, path: "set.tsv", labels: labels, half: .test)
        XCTAssertEqual(all.items.map(\.text), ["good one", "好", "great two", "bad one", "bad two", "fact"])
        XCTAssertEqual(tune.items.map(\.text), ["good one", "好", "bad one", "fact"])
        XCTAssertEqual(test.items.map(\.text), ["great two", "bad two"])
        XCTAssertEqual(all.items[1].language, .chinese)
        XCTAssertEqual(all.items[2].label, 0, "labels match without regard to case")
        XCTAssertEqual(all.items[0].line, 2)
    }

    func testTalliesAndReport() throws {
        var e = try SentimentEvaluation(content: set, path: "set.tsv", labels: labels)
        for (item, predicted) in zip(e.items, [0, 2, 0, 1, 0, 2]) { e.record(item, predicted: predicted, latencySeconds: 0.01) }
        XCTAssertEqual(e.correct, 4)
        XCTAssertEqual(e.accuracy, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(e.recall(1), 0.5)
        XCTAssertEqual(e.precision(0), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(e.accuracy(.chinese).correct, 0)
        XCTAssertEqual(e.accuracy(.english).count, 5)
        let report = e.report()
        XCTAssertTrue(report.hasPrefix("accuracy: 66.7% (4 of 6), mean latency 10.0 ms"), report)
        XCTAssertTrue(report.contains("English: 80.0% (4 of 5)"), report)
        XCTAssertTrue(report.contains("Chinese: 0.0% (0 of 1)"), report)
    }

    func testBadLinesAreNamed() {
        XCTAssertThrowsError(try SentimentEvaluation(content: "text without a label\n", path: "x.tsv", labels: labels)) {
            XCTAssertTrue("\($0)".contains("x.tsv: line 1: expected text<TAB>label"), "\($0)")
        }
        XCTAssertThrowsError(try SentimentEvaluation(content: "# only comments\n", path: "x.tsv", labels: labels)) {
            XCTAssertTrue("\($0)".contains("no labelled lines"), "\($0)")
        }
    }
}
