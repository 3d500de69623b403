// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "dkrun",
    products: [
        .executable(name: "dkrun", targets: ["dkrun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // 4.x imports FoundationEssentials, not all of Foundation (3.x did): the binary then
        // links no FoundationInternationalization and ICU (docs/performance.md, cold start).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // libedit's headers only (libedit-dev): the REPL opens the library when it reads from a
        // terminal (Sources/CEdit/shim.h), so neither pkg-config's flags nor a link.
        .systemLibrary(name: "CEdit"),
        // libcurl's headers only (libcurl4-openssl-dev): dkrun opens the library at its first
        // HTTP request (Sources/CCurl/shim.h), so neither pkg-config's flags nor a link.
        .systemLibrary(name: "CCurl"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "DKCore", dependencies: ["CYAML", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "DKHTTP", dependencies: ["DKCore", "CCurl"]),
        .target(name: "DKLua", dependencies: ["DKCore", "DKHTTP", "CLua"], resources: [
            .embedInCode("Prelude/checks.lua"), .embedInCode("Prelude/config.lua"), .embedInCode("Prelude/flows.lua"),
            .embedInCode("Prelude/control.lua"), .embedInCode("Prelude/globals.lua"), .embedInCode("Prelude/repl.lua"),
        ], plugins: ["PreludeBytecode"]),
        // The prelude's Lua chunks compiled to bytecode when DKLua builds (Prelude.bytecode).
        .executableTarget(name: "PreludeCompiler", dependencies: ["CLua"]),
        .plugin(name: "PreludeBytecode", capability: .buildTool(), dependencies: ["PreludeCompiler"]),
        .target(name: "DKDask", dependencies: ["DKCore"]),
        .target(name: "DKKube", dependencies: ["DKCore", "DKHTTP"]),
        .target(name: "DKKubeRun", dependencies: ["DKCore", "DKDask", "DKKube"]),
        .target(name: "DKImage", dependencies: ["DKCore"]),
        .target(name: "DKHistory", dependencies: ["DKCore", "CSQLite"]),
        .target(name: "DKReport", dependencies: ["DKCore"], resources: [
            .embedInCode("Page/report.html"), .embedInCode("Page/report.css"), .embedInCode("Page/report.js"),
        ]),
        .executableTarget(name: "dkrun", dependencies: [
            "DKCore", "DKLua", "DKDask", "DKKube", "DKKubeRun", "DKImage", "DKHistory", "DKReport", "CEdit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "DKTestSupport", dependencies: ["DKCore"], path: "Tests/DKTestSupport"),
        .testTarget(name: "DKCoreTests", dependencies: ["DKCore", "DKTestSupport"]),
        .testTarget(name: "DKHTTPTests", dependencies: ["DKHTTP", "DKCore", "DKTestSupport"]),
        .testTarget(name: "DKLuaTests", dependencies: ["DKLua", "DKCore", "DKTestSupport", "CLua"]),
        .testTarget(name: "DKDaskTests", dependencies: ["DKDask", "DKCore", "DKTestSupport"]),
        .testTarget(name: "DKKubeTests", dependencies: ["DKKube", "DKCore", "DKTestSupport"]),
        .testTarget(name: "DKKubeRunTests", dependencies: ["DKKubeRun", "DKKube", "DKCore", "DKTestSupport"]),
        .testTarget(name: "DKHistoryTests", dependencies: ["DKHistory", "DKCore", "DKTestSupport"]),
        .testTarget(name: "DKReportTests", dependencies: ["DKReport", "DKCore"]),
        .testTarget(name: "dkrunTests", dependencies: ["dkrun", "DKCore", "DKHistory", "DKTestSupport"]),
        // The fuzz targets (scripts/fuzz.sh builds them for libFuzzer) and their regression inputs.
        .testTarget(name: "FuzzTests", dependencies: ["DKCore", "DKLua", "DKKube"]),
    ],
    swiftLanguageModes: [.v5]
)

// dkrun's modules make the metadata of a concrete generic type (`[TaskRunID: Bool]`, a command's
// `KeyedDecodingContainer<CodingKeys>`) by calling its accessor, not from its mangled name: from
// a mangled name, the runtime looks up the conformances the type's parameters need (`TaskRunID:
// Hashable`) by scanning all the binary's conformance records, some 180,000 instructions a
// lookup, 13 of them in a cold start (docs/performance.md, Cold start).
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
    ]
}
