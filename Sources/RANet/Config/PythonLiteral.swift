import Foundation

/// A value of the small Python literal language that `argparse.Namespace.__repr__` and
/// numpy's .npy headers use: strings, numbers, booleans, None, lists, tuples and dicts
/// with string keys. Nothing is evaluated.
enum PythonLiteral: Equatable {
    case string(String)
    case int(Int)
    case float(Double)
    case bool(Bool)
    case none
    case list([PythonLiteral])
    case dict([String: PythonLiteral])

    /// Parses one literal, e.g. `{'descr': '<f4', 'shape': (2, 3)}`.
    static func parse(_ text: String, context: String) throws -> PythonLiteral {
        var parser = Parser(Array(text.utf8), context: context)
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    /// Parses `Namespace(key=value, ...)` into its fields, in order.
    static func parseNamespace(_ text: String) throws -> [(String, PythonLiteral)] {
        var parser = Parser(Array(text.utf8), context: "args.txt")
        parser.skipSpace()
        try parser.expectWord("Namespace")
        try parser.expect(UInt8(ascii: "("))
        var fields: [(String, PythonLiteral)] = []
        parser.skipSpace()
        if parser.peek() == UInt8(ascii: ")") {
            parser.index += 1
        } else {
            while true {
                parser.skipSpace()
                let key = try parser.identifier()
                try parser.expect(UInt8(ascii: "="))
                fields.append((key, try parser.value(depth: 0)))
                parser.skipSpace()
                if parser.peek() == UInt8(ascii: ",") { parser.index += 1; continue }
                try parser.expect(UInt8(ascii: ")"))
                break
            }
        }
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after Namespace(...)") }
        return fields
    }

    private struct Parser {
        let bytes: [UInt8]
        let context: String
        var index = 0
        init(_ bytes: [UInt8], context: String) {
            self.bytes = bytes
            self.context = context
        }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ message: String) -> ConfigError {
            ConfigError(field: context, "\(message) at character \(index)")
        }

        mutating func skipSpace() {
            while let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            skipSpace()
            guard peek() == c else { throw error("expected '\(Character(Unicode.Scalar(c)))'") }
            index += 1
        }

        mutating func expectWord(_ word: String) throws {
            guard try identifier() == word else { throw error("expected \(word)") }
        }

        mutating func identifier() throws -> String {
            skipSpace()
            let start = index
            while let c = peek(), c == UInt8(ascii: "_") || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) {
                index += 1
            }
            guard index > start else { throw error("expected a name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func value(depth: Int) throws -> PythonLiteral {
            guard depth < 16 else { throw error("lists nested too deeply") }
            skipSpace()
            guard let c = peek() else { throw error("unexpected end") }
            switch c {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return .string(try string(quote: c))
            case UInt8(ascii: "["), UInt8(ascii: "("):
                let close = c == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: ")")
                index += 1
                var items: [PythonLiteral] = []
                skipSpace()
                while peek() != close {
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if peek() == UInt8(ascii: ",") { index += 1; skipSpace() } else { break }
                }
                try expect(close)
                return .list(items)
            case UInt8(ascii: "{"):
                index += 1
                var fields: [String: PythonLiteral] = [:]
                skipSpace()
                while peek() != UInt8(ascii: "}") {
                    guard case .string(let key) = try value(depth: depth + 1) else { throw error("dict keys must be strings") }
                    try expect(UInt8(ascii: ":"))
                    fields[key] = try value(depth: depth + 1)
                    skipSpace()
                    if peek() == UInt8(ascii: ",") { index += 1; skipSpace() } else { break }
                }
                try expect(UInt8(ascii: "}"))
                return .dict(fields)
            case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), 0x30...0x39:
                return try number()
            default:
                let word = try identifier()
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                default: throw error("unsupported value '\(word)'")
                }
            }
        }

        mutating func string(quote: UInt8) throws -> String {
            index += 1
            var out: [UInt8] = []
            while let c = peek(), c != quote {
                if c == UInt8(ascii: "\\") {
                    index += 1
                    guard let escaped = peek() else { break }
                    out.append(escaped)
                } else {
                    out.append(c)
                }
                index += 1
            }
            guard peek() == quote else { throw error("unterminated string") }
            index += 1
            return String(decoding: out, as: UTF8.self)
        }

        mutating func number() throws -> PythonLiteral {
            let start = index
            while let c = peek(), (c >= 0x30 && c <= 0x39) || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(c) {
                index += 1
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if let i = Int(text) { return .int(i) }
            if let d = Double(text) { return .float(d) }
            throw error("bad number '\(text)'")
        }
    }
}
