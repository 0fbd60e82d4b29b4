/// Reads the fields of a JSON object one by one, each checked for its type
/// and range, so that a bad field gets a 422 naming it (A1111's pydantic
/// models do the same). Missing and null fields take their default; fields
/// nobody asks for are ignored, as pydantic ignores them.
struct PayloadReader {
    let object: [String: JSONValue]

    init(_ value: JSONValue) throws(APIError) {
        guard case .object(let object) = value else {
            throw APIError(.unprocessableContent, "the body must be a JSON object (got \(value.typeName))", field: "body")
        }
        self.object = object
    }

    init(object: [String: JSONValue]) { self.object = object }

    func has(_ field: String) -> Bool {
        if case .some(.null) = object[field] { return false }
        return object[field] != nil
    }

    func string(_ field: String) throws(APIError) -> String? {
        switch object[field] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw .invalid(field, "expected a string, got \(other.typeName)")
        }
    }

    func string(_ field: String, default value: String) throws(APIError) -> String {
        try string(field) ?? value
    }

    func bool(_ field: String, default value: Bool) throws(APIError) -> Bool {
        switch object[field] {
        case nil, .null?: return value
        case .bool(let flag)?: return flag
        // Python clients send 0/1 for A1111's int-typed flags (inpainting_mask_invert).
        case .number(let number)? where number == 0 || number == 1: return number == 1
        case let other?: throw .invalid(field, "expected a boolean, got \(other.typeName)")
        }
    }

    func int(_ field: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        switch object[field] {
        case nil, .null?: return nil
        case .number(let number)?:
            guard number.rounded() == number, number.magnitude < 9.0e15 else {
                throw .invalid(field, "expected an integer, got \(number)")
            }
            let value = Int(number)
            guard range.contains(value) else {
                throw .invalid(field, "must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
            }
            return value
        case let other?: throw .invalid(field, "expected an integer, got \(other.typeName)")
        }
    }

    func int(_ field: String, default value: Int, in range: ClosedRange<Int>) throws(APIError) -> Int {
        try int(field, in: range) ?? value
    }

    func double(_ field: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        switch object[field] {
        case nil, .null?: return nil
        case .number(let number)?:
            guard range.contains(number) else {
                throw .invalid(field, "must be between \(range.lowerBound) and \(range.upperBound) (got \(number))")
            }
            return number
        case let other?: throw .invalid(field, "expected a number, got \(other.typeName)")
        }
    }

    func double(_ field: String, default value: Double, in range: ClosedRange<Double>) throws(APIError) -> Double {
        try double(field, in: range) ?? value
    }

    func strings(_ field: String) throws(APIError) -> [String] {
        switch object[field] {
        case nil, .null?: return []
        case .array(let items)?:
            var strings: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw .invalid(field, "expected an array of strings") }
                strings.append(text)
            }
            return strings
        case let other?: throw .invalid(field, "expected an array of strings, got \(other.typeName)")
        }
    }

    func object(_ field: String) throws(APIError) -> [String: JSONValue] {
        switch object[field] {
        case nil, .null?: return [:]
        case .object(let value)?: return value
        case let other?: throw .invalid(field, "expected an object, got \(other.typeName)")
        }
    }
}
