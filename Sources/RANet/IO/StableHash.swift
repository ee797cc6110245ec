/// A 64-bit hash that is the same in every process (Swift's `Hasher` is seeded per
/// process): FNV-1a's constants with an extra shift per step. Not cryptographic: it tells
/// models and architectures apart, in fingerprints and file names.
struct StableHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func mix(_ v: UInt64) {
        value = (value ^ v) &* 0x0000_0100_0000_01b3
        value ^= value >> 29
    }

    mutating func add(_ text: String) {
        for byte in text.utf8 { mix(UInt64(byte)) }
    }

    /// 16 hex digits.
    var hex: String { String(value, radix: 16).leftPadded(to: 16) }
}
