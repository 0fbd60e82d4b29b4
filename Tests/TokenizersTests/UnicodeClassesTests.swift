import Foundation
@_spi(Testing) import Tokenizers
import XCTest

/// Every code point through the Swift character classes, against the
/// classes the references use (unicode_classes.json). Swift's Unicode
/// tables follow the toolchain; this catches a new toolchain drifting from
/// the references.
final class UnicodeClassesTests: XCTestCase {
    struct Tables: Decodable {
        struct CLIP: Decodable {
            let whitespace, letter, number: [[UInt32]]
            let normalized: [String: [UInt32]]
        }
        struct Bert: Decodable {
            let removed, space, chinese, punctuation, split_whitespace: [[UInt32]]
            let normalized: [String: [UInt32]]
        }
        struct CLIPSlow: Decodable {
            let removed, space, chinese: [[UInt32]]
            let normalized: [String: [UInt32]]
        }
        let clip: CLIP
        let clip_slow: CLIPSlow
        let bert: Bert
    }

    /// Membership over sorted, disjoint [first, last] ranges.
    struct RangeSet {
        let ranges: [[UInt32]]
        func contains(_ v: UInt32) -> Bool {
            var lo = 0, hi = ranges.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ranges[mid][1] < v { lo = mid + 1 } else { hi = mid }
            }
            return lo < ranges.count && ranges[lo][0] <= v
        }
    }

    static func allScalars() -> [Unicode.Scalar] {
        (0 ..< 0x110000).compactMap { Unicode.Scalar(UInt32($0)) }
    }

    func testCLIPClasses() throws {
        let tables = try TokenizerFixtures.load(Tables.self, "unicode_classes.json").clip
        let whitespace = RangeSet(ranges: tables.whitespace), letter = RangeSet(ranges: tables.letter),
            number = RangeSet(ranges: tables.number)
        var log = MismatchLog()
        for s in Self.allScalars() {
            let v = s.value
            log.check(CharacterClasses.isWhitespace(s), whitespace.contains(v), "U+\(String(v, radix: 16)) \\s")
            log.check(CharacterClasses.isLetter(s), letter.contains(v), "U+\(String(v, radix: 16)) \\p{L}")
            log.check(CharacterClasses.isNumber(s), number.contains(v), "U+\(String(v, radix: 16)) \\p{N}")
            let expected = tables.normalized[String(v)] ?? [v]
            log.check(scalars(CLIPPreTokenizer.normalize(Substring(String(s)))), expected, "U+\(String(v, radix: 16)) NFC+lower")
        }
        log.assertNone("CLIP character classes")
    }

    /// The slow clean-up of "|c|" for every c (bars, so that no mark
    /// composes with its neighbours).
    func testCLIPSlowCleanup() throws {
        let tables = try TokenizerFixtures.load(Tables.self, "unicode_classes.json").clip_slow
        let removed = RangeSet(ranges: tables.removed), space = RangeSet(ranges: tables.space),
            chinese = RangeSet(ranges: tables.chinese)
        let bar: UInt32 = 0x7C
        var log = MismatchLog()
        for s in Self.allScalars() {
            let v = s.value
            let inner: [UInt32]
            if removed.contains(v) {
                inner = []
            } else if space.contains(v) {
                inner = [0x20]
            } else if chinese.contains(v) {
                inner = [0x20, v, 0x20]
            } else {
                inner = tables.normalized[String(v)] ?? [v]
            }
            log.check(scalars(CLIPPreTokenizer.slowClean(Substring("|" + String(s) + "|"))), [bar] + inner + [bar],
                      "U+\(String(v, radix: 16)) slow clean-up")
        }
        log.assertNone("CLIP slow clean-up")
    }

    func testBertClasses() throws {
        let tables = try TokenizerFixtures.load(Tables.self, "unicode_classes.json").bert
        let removed = RangeSet(ranges: tables.removed), space = RangeSet(ranges: tables.space),
            chinese = RangeSet(ranges: tables.chinese), punctuation = RangeSet(ranges: tables.punctuation),
            splitWhitespace = RangeSet(ranges: tables.split_whitespace)
        let basic = BasicTokenizer()
        var log = MismatchLog()
        for s in Self.allScalars() {
            let v = s.value
            let label = "U+\(String(v, radix: 16))"
            log.check(CharacterClasses.isBertPunctuation(s), punctuation.contains(v), "\(label) punctuation")
            log.check(CharacterClasses.isWhitespace(s), splitWhitespace.contains(v), "\(label) split whitespace")
            if (0xAC00 ... 0xD7A3).contains(v) { continue }  // Hangul: left out of the table for size
            let expected: [UInt32]
            if removed.contains(v) {
                expected = []
            } else if space.contains(v) {
                expected = [0x20]
            } else if chinese.contains(v) {
                expected = [0x20, v, 0x20]
            } else {
                expected = tables.normalized[String(v)] ?? [v]
            }
            log.check(scalars(basic.normalize(String(s))), expected, "\(label) normalized")
        }
        log.assertNone("BERT character classes")
    }
}
