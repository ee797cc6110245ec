import CRANet
import Foundation

/// The vector widths of the project's kernels, and the one the library picks by default.
///
/// A width is an instruction set: 16 floats (AVX-512), 8 (AVX2 with FMA) or 4 (portable:
/// SSE2 on x86-64, NEON on arm64). The lane kernels of a width and the row kernels of
/// the same width compute every value with the same operations in the same order, so
/// a model gives an image the same bits whether it runs in a lane group or alone.
///
/// `RANET_MAX_LANES` caps the default: 8 or 4 make an AVX-512 machine run the code an
/// AVX2-only or a pre-AVX2 CPU runs (for tests, and to compare widths), 1 sends every
/// image through the row kernels alone.
enum LaneWidth {
    static let environmentVariable = "RANET_MAX_LANES"

    /// The cap `RANET_MAX_LANES` sets, read once: nil when unset.
    static let cap: Result<Int?, EngineError> = {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty else { return .success(nil) }
        guard let value = Int(text), [1, 4, 8, 16].contains(value) else {
            return .failure(EngineError(message: "\(environmentVariable)=\(text): expected 16, 8, 4 or 1"))
        }
        return .success(value)
    }()

    /// Whether this CPU runs the lane kernels of this width (1: no lane kernels).
    static func supported(_ lanes: Int) -> Bool {
        lanes == 1 || cranet_lane_kernels(Int32(lanes), CRANET_F32) != nil
    }

    /// The widest vector width this CPU runs within the cap (a cap of 1 caps the lanes,
    /// not the row kernels' width: it means what `Options(lanes: 1)` means).
    static var widest: Int {
        let limit = (try? cap.get()).flatMap { $0 }.flatMap { $0 > 1 ? $0 : nil } ?? 16
        return [16, 8, 4].first { $0 <= limit && supported($0) } ?? 4
    }

    /// ``RANetModel/Options/lanes`` by default: ``widest``, or 1 under a cap of 1.
    static var defaultLanes: Int {
        (try? cap.get()) == 1 ? 1 : widest
    }

    /// The row kernels' vector width that goes with `lanes`: the same instruction set,
    /// so that an image alone gets the bits it would get in a group.
    static func rowWidth(lanes: Int) -> Int { lanes > 1 ? lanes : widest }
}
