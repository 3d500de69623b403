import Foundation

/// The checkout the tests were built from: its scripts, tools and virtualenv.
public let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The project's virtualenv's programs (scripts/setup.sh makes it).
public let venvBin = repoRoot + "/.venv/bin/"
