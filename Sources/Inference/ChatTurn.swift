/// One turn as the chat template writes it (system, user or assistant): what `ChatTemplate` renders. The
/// chat's record of what was said is `Chat.Message`; turns are made from it only to be rendered.
public struct ChatTurn: Sendable, Equatable {
    public enum Role: String, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}
