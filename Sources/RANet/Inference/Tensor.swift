/// A dense row-major float32 array with its shape, e.g. a batch of images N×3×H×W
/// or logits exits×N×classes.
public struct Tensor: Sendable, Equatable {
    /// Size of each dimension, outermost first.
    public let shape: [Int]
    /// The elements in row-major order.
    public var values: [Float]

    /// Creates a tensor; `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw ShapeError("\(values.count) values do not fill shape \(shape)")
        }
        self.shape = shape
        self.values = values
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        values = [Float](repeating: 0, count: shape.reduce(1, *))
    }
}

/// An array whose shape or type does not fit where it is used.
public struct ShapeError: Error, CustomStringConvertible {
    /// What does not fit, in one line.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
