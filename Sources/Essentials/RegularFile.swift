import Foundation

/// Whether a path is a regular file, in the words an error message needs: qwentty reads model files,
/// folders' JSON files, saved chats, themes and the config, and a FIFO, socket, device or directory where
/// one of them is expected must be named as what it is (reading a FIFO would otherwise wait forever for a
/// writer, and Foundation's read reports it as a permission problem).
public enum RegularFile {
    /// What is wrong with `path` as a file to read ("does not exist", "is a FIFO, not a regular file", …),
    /// or nil when it is a regular file (symlinks are followed).
    public static func problem(at path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return "does not exist"
            case EACCES: return "permission denied"
            default: return "cannot be read (\(String(cString: strerror(errno))))"
            }
        }
        return problem(mode: info.st_mode)
    }

    /// The same for a mode from `fstat` (a file already open).
    public static func problem(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "is a FIFO, not a regular file"
        case S_IFCHR, S_IFBLK: return "is a device, not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        case S_IFDIR: return "is a folder, not a regular file"
        default: return "is not a regular file"
        }
    }
}
