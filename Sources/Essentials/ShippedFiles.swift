import Foundation

/// Where the files that ship with qwentty (themes, the demo model) are, for the binary that is running:
/// installed by `scripts/install.sh` (`PREFIX/bin/qwentty` → `PREFIX/share/qwentty/NAME`), or built in a
/// checkout (`CHECKOUT/.build/…/qwentty` → `CHECKOUT/NAME`), so `swift run` works from anywhere too.
public enum ShippedFiles {
    /// Candidate folders for `name` ("themes", "models"), most specific first; they may not exist.
    public static func directories(_ name: String, executable: String? = runningExecutable) -> [String] {
        guard let executable else { return [] }
        let bin = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var out = [bin.deletingLastPathComponent().appendingPathComponent("share/qwentty/\(name)").path]
        // A build folder's parent is the checkout: .build/x86_64-unknown-linux-gnu/release/qwentty.
        var folder = bin
        while folder.pathComponents.count > 1 {
            if folder.lastPathComponent.hasPrefix(".build") {
                out.append(folder.deletingLastPathComponent().appendingPathComponent(name).path)
                break
            }
            folder = folder.deletingLastPathComponent()
        }
        return out
    }

    /// The running binary, symlinks resolved (a link on the PATH to an installed binary still finds its
    /// `share` folder).
    public static var runningExecutable: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map {
            URL(fileURLWithPath: $0).resolvingSymlinksInPath().path
        }
    }
}
