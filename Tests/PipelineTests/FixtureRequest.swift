import Pipeline
import Schedulers
import TestSupport
import XCTest

extension GenerationRequest {
    /// The settings every pipeline fixture records (scripts/reference): prompt, negative prompt, seed,
    /// scheduler, steps and guidance. Sizes, strengths and inputs differ by kind; callers add them.
    init(fixture: Fixture) throws {
        self.init(prompt: try XCTUnwrap(fixture.string("prompt")), seed: UInt64(try XCTUnwrap(fixture.int("seed"))))
        negativePrompt = fixture.string("negative_prompt") ?? ""
        scheduler = try XCTUnwrap(SchedulerKind(rawValue: try XCTUnwrap(fixture.string("scheduler"))))
        steps = try XCTUnwrap(fixture.int("steps"))
        guidance = try XCTUnwrap(fixture.float("guidance"))
    }
}
