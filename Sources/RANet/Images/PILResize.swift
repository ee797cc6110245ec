/// PIL's antialiased resampling (`Image.resize` with BILINEAR), reproduced exactly:
/// a triangle filter widened by the downscaling factor, coefficients in 22-bit fixed
/// point, a horizontal pass then a vertical pass, each rounded to 8 bits.
enum PILResize {
    private static let precisionBits = 32 - 8 - 2

    /// Per output index: first input index and integer weights.
    private static func coefficients(inSize: Int, outSize: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var k = (0..<max(xmax, 0)).map { x -> Double in
                let t = abs((Double(x + xmin) - center + 0.5) / filterScale)
                return t < 1 ? 1 - t : 0
            }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { w -> Int32 in
                Int32(w < 0 ? -0.5 + w * Double(1 << precisionBits) : 0.5 + w * Double(1 << precisionBits))
            }
            return (xmin, fixed)
        }
    }

    private static func clip8(_ v: Int32) -> UInt8 {
        let shifted = v >> Int32(precisionBits)
        return shifted < 0 ? 0 : shifted > 255 ? 255 : UInt8(shifted)
    }

    /// Resizes interleaved 8-bit pixels with `channels` channels.
    static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int) -> [UInt8] {
        var current = pixels, w = width
        let rounding = Int32(1 << (precisionBits - 1))
        if toWidth != width {
            let coeffs = coefficients(inSize: width, outSize: toWidth)
            var out = [UInt8](repeating: 0, count: toWidth * height * channels)
            for y in 0..<height {
                let row = y * width * channels
                for (xx, c) in coeffs.enumerated() {
                    for ch in 0..<channels {
                        var sum = rounding
                        for (i, k) in c.weights.enumerated() { sum &+= Int32(current[row + (c.start + i) * channels + ch]) &* k }
                        out[(y * toWidth + xx) * channels + ch] = clip8(sum)
                    }
                }
            }
            current = out
            w = toWidth
        }
        if toHeight != height {
            let coeffs = coefficients(inSize: height, outSize: toHeight)
            var out = [UInt8](repeating: 0, count: w * toHeight * channels)
            for (yy, c) in coeffs.enumerated() {
                for x in 0..<(w * channels) {
                    var sum = rounding
                    for (i, k) in c.weights.enumerated() { sum &+= Int32(current[(c.start + i) * w * channels + x]) &* k }
                    out[yy * w * channels + x] = clip8(sum)
                }
            }
            current = out
        }
        return current
    }
}
