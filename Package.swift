// swift-tools-version:5.10
// Augur: a PostgreSQL extension whose logic is Swift behind a thin C shim.
// Build through `make -C extension` (it passes PostgreSQL's include path from pg_config).
import PackageDescription

let root = String(#filePath.dropLast("/Package.swift".count))

let package = Package(
    name: "augur",
    products: [
        // Installed as augur.so. The Swift stdlib is linked statically so the server needs
        // nothing from the toolchain at run time; the version script exports only what
        // PostgreSQL looks up.
        .library(name: "augur", type: .dynamic, targets: ["AugurBridge"]),
    ],
    dependencies: [
        // Only for the histogram benchmark (bench/histogram), never linked into augur.so.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
    ],
    targets: [
        .target(name: "AugurCore"),
        // libpq: the worker applies DDL over a session of its own (CShim/remote.c).
        .target(name: "CShim", dependencies: ["CLibpq"], path: "CShim"),
        .target(
            name: "AugurBridge",
            dependencies: ["AugurCore", "CShim"],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=\(root)/extension/augur.exports",
                ]),
            ]),
        .systemLibrary(name: "CLibpq", path: "Tests/CLibpq", pkgConfig: "libpq"),
        .target(name: "PGHarness", dependencies: ["CLibpq"], path: "Tests/PGHarness"),
        .testTarget(name: "AugurCoreTests", dependencies: ["AugurCore"]),
        .testTarget(name: "IntegrationTests", dependencies: ["PGHarness"]),
        .executableTarget(
            name: "HistogramBench",
            dependencies: ["AugurCore", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "bench/histogram/Sources"),
        .executableTarget(name: "PartitionerBench", dependencies: ["AugurCore"], path: "bench/sharding/Sources"),
        .executableTarget(name: "DetectorScores", dependencies: ["AugurCore"], path: "bench/anomaly/Sources"),
    ]
)
