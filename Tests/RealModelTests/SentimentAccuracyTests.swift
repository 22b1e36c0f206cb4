import Foundation
import Inference
import TestSupport
import XCTest

/// The built-in sentiment prompt on the real model, over the team's evaluation set
/// (data/sentiment-eval.tsv, 306 messages, English and Chinese). The floors are the targets; the
/// classifier is deterministic for a given build, so a figure below them is a regression, not noise.
final class SentimentAccuracyTests: XCTestCase {
    func testAccuracyOnTheEvaluationSet() throws {
        let loaded = try RealModel.load()
        let classifier = try SentimentClassifier(model: loaded.model, tokenizer: loaded.tokenizer,
                                                 template: try XCTUnwrap(loaded.template))
        let path = TestPaths.packageRoot.appendingPathComponent("data/sentiment-eval.tsv").path
        var evaluation = try SentimentEvaluation(content: try String(contentsOfFile: path, encoding: .utf8), path: path,
                                                 labels: classifier.labels)
        XCTAssertGreaterThanOrEqual(evaluation.items.count, 300)
        for item in evaluation.items {
            let result = try classifier.classify(item.text)
            evaluation.record(item, predicted: classifier.labels.firstIndex(of: result.label) ?? 0, latencySeconds: result.latencySeconds)
        }
        print(evaluation.report())
        XCTAssertGreaterThanOrEqual(evaluation.accuracy, 0.80, "overall accuracy")
        for (i, label) in classifier.labels.enumerated() {
            XCTAssertGreaterThanOrEqual(evaluation.recall(i), 0.60, "\(label) recall")
        }
        for language in SentimentEvaluation.Language.allCases {
            let (correct, count) = evaluation.accuracy(language)
            XCTAssertGreaterThanOrEqual(Double(correct) / Double(max(1, count)), 0.75, "\(language.rawValue) accuracy")
        }
    }
}
