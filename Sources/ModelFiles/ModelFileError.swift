/// Why a model file was rejected, as one line a user can act on: which file, which field, what is wrong.
public struct ModelFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let field: String
    public let problem: String

    public init(path: String, field: String, problem: String) {
        self.path = path
        self.field = field
        self.problem = problem
    }

    public var description: String {
        "\(path): \(field): \(problem)"
    }
}
