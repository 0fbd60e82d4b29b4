import Schedulers

/// A1111's sampler and scheduler names for sdgen's samplers. A1111 1.9+
/// names a sampler ("DPM++ 2M") and its noise schedule ("Karras")
/// separately; older clients send the combined name ("DPM++ 2M Karras").
/// Both resolve to the same `SchedulerKind`, whose `a1111Name` is the combined name.
enum A1111Sampler {
    /// The schedule names A1111 lists, of those sdgen has: the sampler's own, and Karras sigmas.
    static let schedules: [(name: String, label: String, rho: Double)] = [
        ("automatic", "Automatic", -1),
        ("karras", "Karras", 7),
    ]

    /// Sampler names without a schedule suffix, in `SchedulerKind.allCases` order.
    static var names: [String] {
        var seen: Set<String> = []
        return SchedulerKind.allCases.map { baseName(of: $0) }.filter { seen.insert($0).inserted }
    }

    static func baseName(of kind: SchedulerKind) -> String {
        kind.usesKarrasSigmas && kind.a1111Name.hasSuffix(" Karras") ? String(kind.a1111Name.dropLast(7)) : kind.a1111Name
    }

    /// sdgen's command-line names of the kinds a sampler name covers (aliases in `/samplers`).
    static func aliases(of name: String) -> [String] {
        SchedulerKind.allCases.filter { baseName(of: $0) == name && !$0.usesKarrasSigmas }.map(\.rawValue)
    }

    /// The older names A1111 still accepts for its samplers (its samplers'
    /// `aliases`, from the k-diffusion function names), lower-cased.
    static let legacyNames: [String: String] = [
        "k_euler_a": "Euler a", "k_euler_ancestral": "Euler a", "k_euler": "Euler", "k_lms": "LMS",
        "k_heun": "Heun", "k_dpmpp_2m": "DPM++ 2M", "k_dpmpp_2m_ka": "DPM++ 2M Karras", "k_lms_ka": "LMS Karras",
        "k_lcm": "LCM", "plms": "PLMS",
    ]

    /// The kind for A1111's `sampler_name` and `scheduler` (either may be
    /// nil: the model's default sampler, its own schedule). Names match
    /// case-insensitively, as A1111's lookup does; sdgen's own names are accepted too.
    static func kind(sampler: String?, schedule: String?) throws(APIError) -> SchedulerKind? {
        let karras: Bool
        switch schedule?.lowercased() {
        case nil, "", "automatic": karras = false
        case "karras": karras = true
        case let other?:
            throw .invalid("scheduler", "'\(other)' is not available (sdgen has: \(schedules.map(\.label).joined(separator: ", ")))")
        }
        guard let sampler, !sampler.isEmpty else {
            if karras { throw .invalid("scheduler", "Karras needs a sampler_name to apply to") }
            return nil
        }
        let wanted = (legacyNames[sampler.lowercased()] ?? sampler).lowercased()
        let named = SchedulerKind.allCases.first { $0.a1111Name.lowercased() == wanted || $0.rawValue == wanted }
        guard let named else {
            throw .invalid("sampler_name", "'\(sampler)' is not available (sdgen has: \(names.joined(separator: ", ")))")
        }
        guard karras, !named.usesKarrasSigmas else { return named }
        guard let withKarras = SchedulerKind.allCases.first(where: {
            $0.usesKarrasSigmas && baseName(of: $0) == baseName(of: named)
        }) else {
            throw .invalid("scheduler", "Karras is not available with \(sampler) (it is with: "
                           + SchedulerKind.allCases.filter(\.usesKarrasSigmas).map(baseName).joined(separator: ", ") + ")")
        }
        return withKarras
    }
}
