/// An error reported by oneDNN or the C bridge.
public struct EngineError: Error, CustomStringConvertible {
    /// What failed, in one line.
    public let message: String
    /// `inference engine: message`.
    public var description: String { "inference engine: \(message)" }
}

/// Calls a bridge function that reports failure through a message buffer.
func bridgeCall(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var buffer = [CChar](repeating: 0, count: 256)
    let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if status != 0 {
        throw EngineError(message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
