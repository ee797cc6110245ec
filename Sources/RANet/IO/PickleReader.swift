import Foundation

/// A value a state_dict pickle can hold.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// One of the allowed callables or classes (see ``PickleReader/allowedGlobals``).
    case global(String)
    /// A tensor storage named by a persistent id: its dtype, zip entry key and length.
    case storage(dtype: TensorDType, key: String, count: Int)
    case tensor(PickledTensor)
}

/// Lists and dicts are shared by reference in pickle (memo, APPEND on a memoized list).
final class PickleList {
    var items: [PickleValue] = []
    fileprivate var nesting = PickleNesting()
}
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
    fileprivate var nesting = PickleNesting()

    /// The value under a string key.
    subscript(key: String) -> PickleValue? {
        entries.first { if case .string(key) = $0.key { return true }; return false }?.value
    }
}

/// How deeply a list or dict nests, and whether it already sits inside another container.
///
/// `pickle` fills a container before it places it, so a placed one never changes again:
/// refusing such a change keeps every depth exact and rules out cycles.
private struct PickleNesting {
    var depth = 1
    var placed = false
}

/// A tensor as `_rebuild_tensor_v2` describes it: a view into a storage.
struct PickledTensor {
    let dtype: TensorDType
    let storageKey: String
    let storageCount: Int
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// A pickle virtual machine for exactly what `torch.save(state_dict)` writes.
///
/// Nothing is ever executed or imported: the opcodes are a fixed list, and the only
/// "callables" are tensor rebuilding and OrderedDict, which are interpreted here.
/// Anything else (another global, an unknown opcode) is refused with an error.
struct PickleReader {
    /// Globals a state_dict needs; everything else is refused.
    static let allowedGlobals = Set([
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    ]).union(TensorDType.storageClasses.keys)

    /// How deeply values may nest. A checkpoint nests a few levels (its deepest is the
    /// `_metadata` state, a dict of dicts inside a dict); the limit keeps a crafted file from nesting tens of
    /// thousands, whose release alone would recurse past the end of the stack.
    static let maxDepth = 32

    let path: String

    private func fail(_ message: String) -> FileError { FileError(path: path, message: "checkpoint pickle: \(message)") }

    func read(_ data: Data) throws -> PickleValue {
        let bytes = [UInt8](data)
        // Each value with its nesting depth: 0 for a scalar, 1 + its deepest item's for a
        // tuple (lists and dicts keep theirs, which APPEND and SETITEMS deepen).
        typealias Entry = (value: PickleValue, depth: Int)
        var stack: [Entry] = []
        var marks: [Int] = []
        var memo: [Int: Entry] = [:]
        var i = 0

        func need(_ n: Int) throws {
            guard n >= 0, n <= bytes.count - i else { throw fail("truncated") }
        }
        func uint(_ n: Int) throws -> Int {
            try need(n)
            var v = 0
            for k in (0..<n).reversed() { v = v << 8 | Int(bytes[i + k]) }
            i += n
            return v
        }
        func take(_ n: Int) throws -> ArraySlice<UInt8> {
            try need(n)
            defer { i += n }
            return bytes[i..<(i + n)]
        }
        func push(_ value: PickleValue) { stack.append((value, 0)) }
        func pop() throws -> Entry {
            guard let v = stack.popLast() else { throw fail("stack underflow") }
            if let m = marks.last, stack.count < m { throw fail("stack underflow past a mark") }
            return v
        }
        func popMark() throws -> [Entry] {
            guard let m = marks.popLast(), m <= stack.count else { throw fail("missing mark") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        func top() throws -> Entry {
            guard let v = stack.last else { throw fail("stack underflow") }
            return v
        }
        // Places items inside a container: marks their lists and dicts placed and returns
        // the container's least depth.
        func place(_ items: [Entry]) throws -> Int {
            var depth = 1
            for (value, stored) in items {
                var itemDepth = stored
                switch value {
                case .list(let l): l.nesting.placed = true; itemDepth = l.nesting.depth
                case .dict(let d): d.nesting.placed = true; itemDepth = d.nesting.depth
                default: break
                }
                depth = max(depth, itemDepth + 1)
            }
            guard depth <= Self.maxDepth else {
                throw fail("values nest deeper than \(Self.maxDepth) levels (a state_dict nests a few)")
            }
            return depth
        }
        func pushTuple(_ items: [Entry]) throws {
            stack.append((.tuple(items.map(\.value)), try place(items)))
        }
        // Callers place the items before they check the target, so a container cannot take itself.
        func grown(_ nesting: PickleNesting, to depth: Int) throws -> PickleNesting {
            guard !nesting.placed else { throw fail("changes a list or dict after placing it in another value") }
            return PickleNesting(depth: max(nesting.depth, depth))
        }
        func line() throws -> String {
            guard let end = bytes[i...].firstIndex(of: 0x0A) else { throw fail("truncated") }
            defer { i = end + 1 }
            return String(decoding: bytes[i..<end], as: UTF8.self)
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            let full = "\(module).\(name)"
            guard Self.allowedGlobals.contains(full) else {
                throw fail("refers to '\(full)', which a state_dict never needs; refusing to load it")
            }
            return .global(full)
        }
        func setItems(_ target: PickleValue, _ items: [Entry]) throws {
            guard case .dict(let d) = target, items.count % 2 == 0 else { throw fail("SETITEMS on a non-dict") }
            let depth = try place(items)
            d.nesting = try grown(d.nesting, to: depth)
            for k in stride(from: 0, to: items.count, by: 2) { d.entries.append((items[k].value, items[k + 1].value)) }
        }
        func appendItems(_ target: PickleValue, _ items: [Entry]) throws {
            guard case .list(let l) = target else { throw fail("APPEND on a non-list") }
            let depth = try place(items)
            l.nesting = try grown(l.nesting, to: depth)
            l.items.append(contentsOf: items.map(\.value))
        }

        while i < bytes.count {
            let op = bytes[i]
            i += 1
            switch op {
            case 0x80: _ = try uint(1)  // PROTO
            case 0x95: _ = try uint(8)  // FRAME
            case 0x2E:  // STOP
                guard stack.count == 1 else { throw fail("malformed end") }
                return stack[0].value
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D: push(.dict(PickleDict()))  // EMPTY_DICT
            case 0x5D: push(.list(PickleList()))  // EMPTY_LIST
            case 0x29: push(.tuple([]))  // EMPTY_TUPLE
            case 0x74: try pushTuple(try popMark())  // TUPLE
            case 0x85: try pushTuple([try pop()])  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try pushTuple([a, b])  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try pushTuple([a, b, c])  // TUPLE3
            case 0x6C:  // LIST
                let l = PickleList()
                try appendItems(.list(l), try popMark())
                push(.list(l))
            case 0x64:  // DICT
                let d = PickleDict()
                try setItems(.dict(d), try popMark())
                push(.dict(d))
            case 0x61: let v = try pop(); try appendItems(try top().value, [v])  // APPEND
            case 0x65: let items = try popMark(); try appendItems(try top().value, items)  // APPENDS
            case 0x73: let v = try pop(), k = try pop(); try setItems(try top().value, [k, v])  // SETITEM
            case 0x75: let items = try popMark(); try setItems(try top().value, items)  // SETITEMS
            case 0x71: memo[try uint(1)] = try top()  // BINPUT
            case 0x72: memo[try uint(4)] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let key = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[key] else { throw fail("unknown memo entry \(key)") }
                stack.append(v)
            case 0x4A: push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x4B: push(.int(try uint(1)))  // BININT1
            case 0x4D: push(.int(try uint(2)))  // BININT2
            case 0x8A:  // LONG1
                let n = try uint(1)
                guard n <= 8 else { throw fail("integer too large") }
                let raw = try take(n)
                var v: Int64 = 0
                for (k, b) in raw.enumerated() { v |= Int64(b) << (8 * Int64(k)) }
                if n > 0 && n < 8 && raw.last! & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                push(.int(Int(v)))
            case 0x47:  // BINFLOAT (big-endian)
                let raw = try take(8)
                push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x58, 0x8C, 0x8D, 0x54, 0x55:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING
                let width = op == 0x8C || op == 0x55 ? 1 : op == 0x8D ? 8 : 4
                let n = try uint(width)
                push(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x42, 0x43:  // BINBYTES, SHORT_BINBYTES
                let n = try uint(op == 0x43 ? 1 : 4)
                push(.bytes(Data(try take(n))))
            case 0x4E: push(.none)  // NONE
            case 0x88: push(.bool(true))  // NEWTRUE
            case 0x89: push(.bool(false))  // NEWFALSE
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop().value, case .string(let module) = try pop().value else {
                    throw fail("STACK_GLOBAL needs two strings")
                }
                push(try global(module, name))
            case 0x52:  // REDUCE
                guard case .tuple(let args) = try pop().value, case .global(let callable) = try pop().value else {
                    throw fail("REDUCE needs a callable and a tuple")
                }
                push(try reduce(callable, args))
            case 0x62:  // BUILD: state for an OrderedDict (its _metadata) or a tensor; not needed
                _ = try pop()
                _ = try top()
            case 0x51:  // BINPERSID
                push(try persistent(try pop().value))
            default:
                throw fail(String(format: "unsupported opcode 0x%02x at byte %d (not a state_dict pickle)", op, i - 1))
            }
        }
        throw fail("no STOP opcode (truncated)")
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`
    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0],
              case .global(let cls) = t[1], let dtype = TensorDType.storageClasses[cls],
              case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw fail("unsupported persistent id (expected a tensor storage)")
        }
        return .storage(dtype: dtype, key: key, count: count)
    }

    private func reduce(_ callable: String, _ args: [PickleValue]) throws -> PickleValue {
        switch callable {
        case "collections.OrderedDict":
            return .dict(PickleDict())
        case "torch._utils._rebuild_parameter":
            guard let first = args.first, case .tensor = first else { throw fail("bad _rebuild_parameter arguments") }
            return first
        case "torch._utils._rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let dtype, let key, let count) = args[0], case .int(let offset) = args[1],
                  case .tuple(let size) = args[2], case .tuple(let stride) = args[3] else {
                throw fail("bad _rebuild_tensor_v2 arguments")
            }
            let shape = try size.map { v -> Int in
                guard case .int(let d) = v, d >= 0 else { throw fail("bad tensor shape") }
                return d
            }
            let strides = try stride.map { v -> Int in
                guard case .int(let s) = v, s >= 0 else { throw fail("bad tensor strides") }
                return s
            }
            guard shape.count == strides.count, shape.count <= 8 else { throw fail("bad tensor rank") }
            // A view may not hold more elements than its storage (a stride-0 view could
            // otherwise claim billions of elements over a few bytes).
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= count else { throw fail("tensor of shape \(shape) is larger than its storage of \(count) elements") }
                elements = product
            }
            // The furthest element must lie inside the storage.
            var last = offset
            for (d, s) in zip(shape, strides) where d > 0 {
                let (step, overflow) = (d - 1).multipliedReportingOverflow(by: s)
                let (sum, past) = last.addingReportingOverflow(step)
                guard !overflow, !past else { throw fail("tensor strides overflow") }
                last = sum
            }
            guard offset >= 0, shape.contains(0) || last < count else { throw fail("tensor view outside its storage") }
            return .tensor(PickledTensor(dtype: dtype, storageKey: key, storageCount: count, offset: offset,
                                         shape: shape, strides: strides))
        default:
            throw fail("refers to '\(callable)', which cannot be called here")
        }
    }
}
