/// A config value diffusers writes either as one number for every block or
/// as one number per block (attention_head_dim, transformer_layers_per_block).
public enum IntOrList: Codable, Sendable, Equatable {
    case one(Int)
    case perBlock([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .one(value)
        } else {
            self = .perBlock(try container.decode([Int].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let value): try container.encode(value)
        case .perBlock(let values): try container.encode(values)
        }
    }

    public func values(count: Int) -> [Int] {
        switch self {
        case .one(let value): Array(repeating: value, count: count)
        case .perBlock(let values): values
        }
    }
}

/// Likewise for flags (only_cross_attention).
public enum BoolOrList: Codable, Sendable, Equatable {
    case one(Bool)
    case perBlock([Bool])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .one(value)
        } else {
            self = .perBlock(try container.decode([Bool].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let value): try container.encode(value)
        case .perBlock(let values): try container.encode(values)
        }
    }

    public func values(count: Int) -> [Bool] {
        switch self {
        case .one(let value): Array(repeating: value, count: count)
        case .perBlock(let values): values
        }
    }
}
