// swift-tools-version:6.0
import PackageDescription
import Foundation

/// Which x86 instructions the byte-dot kernels (Sources/Kernels/ByteDotProducts.swift) are built with.
/// `-march=native` builds for the build machine, so its CPU decides: AVX-512 VNNI's `vpdpbusd` (64 8-bit
/// products per instruction), else AVX2's `vpmaddubsw`; LLVM never emits either from plain Swift, so they
/// come from the VectorInstructions module. Elsewhere (ARM, x86 without AVX2) the portable SIMD kernels
/// are all there is. `QWENTTY_ISA=avx2` or `=portable` overrides the detection (the AVX2 comparison build
/// of scripts/bench-vs-llamacpp.py sets it, with `-march=x86-64-v3`).
let byteDotInstructions: String? = {
    #if arch(x86_64) && os(Linux)
    switch ProcessInfo.processInfo.environment["QWENTTY_ISA"] {
    case "portable": return nil
    case "avx2": return "QWENTTY_AVX2"
    case "avx512vnni": return "QWENTTY_AVX512_VNNI"
    default: break
    }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
    let names = Set(flags.split(separator: " ").map(String.init))
    if ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"].allSatisfy(names.contains) { return "QWENTTY_AVX512_VNNI" }
    if ["avx2", "fma", "f16c", "bmi2"].allSatisfy(names.contains) { return "QWENTTY_AVX2" }
    return nil
    #else
    return nil
    #endif
}()

/// The engine's kernels are only fast when LLVM may use the host's vector units: without a target CPU,
/// `Float(Float16)` is a library call and integer dot products are not vectorised (7x slower, see
/// ../shared/PERFORMANCE.md). `unsafeFlags` are allowed because this is the root package.
let engineFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=native"]),
    // The engine hands raw pointers to pool threads by design; strict Sendable checking of Swift 6 mode
    // would only add `@unchecked` noise there.
    .swiftLanguageMode(.v5),
    // Every file imports the modules whose members it uses, so the dependencies below stay honest.
    .enableUpcomingFeature("MemberImportVisibility"),
] + (byteDotInstructions.map { [.define($0)] } ?? [])

let package = Package(
    name: "qwentty",
    products: [
        .executable(name: "qwentty", targets: ["qwentty"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The few helpers every layer uses (atomic files, the terminal sanitiser, the heap, the clock):
        // no dependencies, so a command that only reads a model file never links the chat screen.
        .target(name: "Essentials", swiftSettings: engineFlags),
        .target(name: "ModelFiles", dependencies: ["Essentials"], swiftSettings: engineFlags),
        // The few x86 vector instructions plain Swift cannot reach, as LLVM intrinsics through the `Builtin`
        // module (hence -parse-stdlib); empty on other CPUs.
        .target(name: "VectorInstructions", swiftSettings: engineFlags + [.unsafeFlags(["-parse-stdlib"])]),
        .target(name: "Kernels", dependencies: ["ModelFiles", "VectorInstructions"], swiftSettings: engineFlags),
        .target(name: "Tokenizer", dependencies: ["ModelFiles", "Essentials"], swiftSettings: engineFlags),
        .target(name: "Transformer", dependencies: ["ModelFiles", "Kernels"], swiftSettings: engineFlags),
        .target(name: "Inference", dependencies: ["ModelFiles", "Kernels", "Transformer", "Tokenizer", "Essentials"], swiftSettings: engineFlags),
        // The conversation and its one owner, `ChatController`: headless, so every chat command is tested
        // without a terminal; the chat screen only draws it.
        .target(name: "Chat", dependencies: ["Inference", "Transformer", "Tokenizer", "Kernels", "Essentials"], swiftSettings: engineFlags),
        // ncursesw (Debian: libncursesw5-dev) through a module map and a header of inline wrappers.
        .systemLibrary(name: "CCurses", path: "Sources/CCurses"),
        .target(name: "TerminalUI", dependencies: ["Chat", "Inference", "Essentials", "CCurses"], swiftSettings: engineFlags),
        .executableTarget(
            name: "qwentty",
            dependencies: [
                "ModelFiles",
                "Kernels",
                "Tokenizer",
                "Transformer",
                "Inference",
                "Chat",
                "TerminalUI",
                "Essentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: engineFlags
        ),
        // Locates committed fixtures and ../shared; shared by the test targets only.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: engineFlags),
        .testTarget(name: "EssentialsTests", dependencies: ["Essentials", "TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "ModelFilesTests", dependencies: ["ModelFiles", "TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "ModelFiles", "VectorInstructions", "TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "ModelFiles", "TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "Tokenizer", "Kernels", "ModelFiles", "TestSupport"],
                    swiftSettings: engineFlags),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "ModelFiles", "Tokenizer", "Transformer", "Essentials", "TestSupport"],
                    swiftSettings: engineFlags),
        .testTarget(name: "ChatTests", dependencies: ["Chat", "Inference", "Tokenizer", "TestSupport"], swiftSettings: engineFlags),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "Chat", "Inference", "CCurses", "TestSupport"], swiftSettings: engineFlags),
        // The real Qwen2.5-Coder-0.5B Q4_K_M file (scripts/fetch-real-model.sh): parity with transformers and
        // llama.cpp, the chat template, sentiment accuracy.
        .testTarget(name: "RealModelTests", dependencies: ["Inference", "Kernels", "ModelFiles", "Transformer", "TestSupport"], swiftSettings: engineFlags),
        // Runs the built `qwentty` binary end to end (depending on it makes `swift test` build it).
        .testTarget(name: "qwenttyTests", dependencies: ["qwentty", "ModelFiles", "Transformer", "Chat", "Essentials", "TestSupport"], swiftSettings: engineFlags),
    ]
)
