import Foundation

/// Finds the files to classify under some paths, in a deterministic order.
public enum ImageFinder {
    /// A path that could not be used, and why.
    public struct Problem: Sendable, Equatable {
        /// The path as given or found.
        public let path: String
        /// Why it could not be used (missing, unreadable, not a regular file…).
        public let reason: String
    }

    /// Regular files under `paths` (folders listed, recursively if asked; files named
    /// directly taken as they are), sorted by path; hidden entries are skipped. Whether a file is an image is
    /// judged from its content when it is decoded, not from its name.
    public static func files(under paths: [URL], recursive: Bool) -> (files: [URL], problems: [Problem]) {
        var files: [URL] = [], problems: [Problem] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
                problems.append(Problem(path: path.path, reason: "no such file or directory"))
                continue
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard manager.isReadableFile(atPath: path.path), let names = try? manager.contentsOfDirectory(atPath: path.path) else {
                problems.append(Problem(path: path.path, reason: "cannot list the folder (permission denied)"))
                continue
            }
            for name in names where !name.hasPrefix(".") {
                let child = path.appendingPathComponent(name)
                var childIsDirectory: ObjCBool = false
                _ = manager.fileExists(atPath: child.path, isDirectory: &childIsDirectory)
                if childIsDirectory.boolValue {
                    if recursive {
                        let nested = Self.files(under: [child], recursive: true)
                        files += nested.files
                        problems += nested.problems
                    }
                } else if isRegularFile(child) {  // FIFOs, sockets and devices are passed over
                    files.append(child)
                }
            }
        }
        files.sort { $0.path < $1.path }
        return (files, problems)
    }

    /// Shard `index` of `count`: every count-th file starting at `index`, so that the
    /// shards of one listing cover every file exactly once.
    public static func shard(_ files: [URL], index: Int, count: Int) -> [URL] {
        files.enumerated().filter { $0.offset % count == index }.map(\.element)
    }
}
