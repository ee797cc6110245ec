import Foundation

/// An average cost per image people can state: operations (`20M`, `1.5G`, `350000`) or a
/// share of the full network (`0.4x`).
public enum Budget: Sendable, Equatable, CustomStringConvertible {
    /// A number of operations per image, counted as the authors' op_counter does.
    case operations(Double)
    /// A share of the full network's operations (0.4 for `0.4x`).
    case fractionOfFull(Double)

    /// Parses `20M`, `1.5G`, `250k`, `3e7` or `0.4x`.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9]
        if t.hasSuffix("x"), let v = Double(t.dropLast()), v > 0, v.isFinite {
            self = .fractionOfFull(v)
        } else if let last = t.last, let unit = units[last], let v = Double(t.dropLast()), v > 0, v.isFinite {
            self = .operations(v * unit)
        } else if let v = Double(t), v > 0, v.isFinite {
            self = .operations(v)
        } else {
            throw ThresholdError("cannot read budget '\(text)' (examples: 20M, 1.5G, 350000, 0.4x)")
        }
    }

    /// Operations per image for a network whose full cost is `fullOps`.
    public func operations(fullOps: Double) -> Double {
        switch self {
        case .operations(let v): v
        case .fractionOfFull(let f): f * fullOps
        }
    }

    /// The budget in words, such as `20.0M operations` or `0.4x of the full network`.
    public var description: String {
        switch self {
        case .operations(let v): "\(v / 1e6)M operations"
        case .fractionOfFull(let f): "\(f)x of the full network"
        }
    }
}

