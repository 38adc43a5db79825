/// log2 and 2^x without Foundation (the core runs inside the server, where it is not loaded).
func log2(_ x: Double) -> Double {
    // x = m · 2^e with m in [1, 2); log2(m) from the series of ln((1+t)/(1−t)).
    let e = Double(x.exponent)
    let m = x.significand
    let t = (m - 1) / (m + 1), t2 = t * t
    var term = t, sum = 0.0
    for k in stride(from: 1.0, through: 39, by: 2) {
        sum += term / k
        term *= t2
    }
    return e + 2 * sum / 0.693_147_180_559_945_3
}

func exp2(_ x: Double) -> Double {
    let whole = x.rounded(.down)
    let fraction = (x - whole) * 0.693_147_180_559_945_3
    var term = 1.0, sum = 1.0
    for k in 1...24 {
        term *= fraction / Double(k)
        sum += term
    }
    return Double(sign: .plus, exponent: Int(whole), significand: sum)
}
