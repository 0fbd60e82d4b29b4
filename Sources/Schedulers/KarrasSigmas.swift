import Foundation

/// The noise levels of Karras et al. (2022), eq. 5: `count` sigmas from
/// `max` down to `min`, evenly spaced in sigma^(1/rho) with rho = 7, which
/// spends more steps at low noise than the training schedule does.
///
/// Computed in double as diffusers' `_convert_to_karras` does with numpy.
enum KarrasSigmas {
    static let rho = 7.0

    static func sigmas(min sigmaMin: Double, max sigmaMax: Double, count: Int) -> [Double] {
        let ramp = NumPy.linspace(0, 1, count: count)
        let minInvRho = pow(sigmaMin, 1 / rho)
        let maxInvRho = pow(sigmaMax, 1 / rho)
        return ramp.map { pow(maxInvRho + $0 * (minInvRho - maxInvRho), rho) }
    }
}
