import ArgumentParser

/// `--seed`: a number, or -1 (A1111's way of asking for a fresh one) or
/// `random`; the seed drawn is printed and stored in the PNG either way.
enum SeedArgument: ExpressibleByArgument, Equatable {
    case fixed(UInt64)
    case random

    init?(argument: String) {
        if argument == "-1" || argument.lowercased() == "random" {
            self = .random
        } else if let value = UInt64(argument) {
            self = .fixed(value)
        } else {
            return nil
        }
    }

    /// The seed to use: the fixed one, or a fresh draw in 0..<2³² (the range A1111 draws from).
    func resolved() -> UInt64 {
        switch self {
        case .fixed(let value): value
        case .random: UInt64.random(in: 0..<(1 << 32))
        }
    }
}
